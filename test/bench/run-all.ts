import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { GATEWAY_HEAP_FLAGS, NODE_FLAGS } from '../../runtime/shared/node-flags.js'

// Runs every bench module in this folder, one process each, in name order.
const here = fileURLToPath(new URL('.', import.meta.url))
// Not benchmarks that write a result: the evaluation (npm run evaluate), the table tools, and the
// diagnostic scripts run by hand (overload-memory, noisy-only, priority-hosts, profile-top).
const skip = new Set(['run-all.ts', 'evaluate.ts', 'evaluate-params.ts', 'evaluation-chart.ts', 'table.ts', 'stale.ts',
  'overload-memory.ts', 'noisy-only.ts', 'priority-hosts.ts', 'profile-top.ts'])
// The modules whose own process hosts the gateway run with its heap flags, as `wisp start` and `wisp gateway` do.
const gatewayHosts = new Set(['end-to-end.ts', 'reliability.ts', 'scale.ts', 'sim-vs-live.ts'])
let failed = 0
for (const f of readdirSync(here).filter((n) => n.endsWith('.ts') && !skip.has(n)).sort()) {
  console.log(`\n== ${f}`)
  const t0 = performance.now()
  const r = spawnSync(process.execPath, [...NODE_FLAGS, ...(gatewayHosts.has(f) ? GATEWAY_HEAP_FLAGS : []), '--expose-gc', '--import', 'tsx', `${here}${f}`], { stdio: 'inherit' })
  if (r.status !== 0) { failed++; console.error(`${f} failed (${String(r.status ?? r.signal)})`) }
  console.log(`== ${f}: ${((performance.now() - t0) / 1000).toFixed(0)} s`)
}
// The README's benchmark table is rendered from the JSON just written.
spawnSync(process.execPath, ['--import', 'tsx', `${here}table.ts`, '--write'], { stdio: 'inherit' })
process.exitCode = failed === 0 ? 0 : 1
