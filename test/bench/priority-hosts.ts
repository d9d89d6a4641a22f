// The light function's latency beside a CPU hog on one board's isolate runtime, with one host
// (as without `low_priority_host`) and with the hog in the low-priority host, alternating rounds.
// No MQTT, leader or run queue: only the OS contention between the isolate threads. Prints,
// records nothing. `node --no-node-snapshot --import tsx test/bench/priority-hosts.ts`
import { loadavg } from 'node:os'
import type { Executor } from '../../runtime/agent/executor-port.js'
import { LOW_PRIORITY_NICE, PriorityHosts } from '../../runtime/agent/priority-hosts.js'
import { RuntimePool } from '../../runtime/agent/runtime-pool.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { CPU_HOG, LIGHT } from '../helpers/noisy.js'
import { quantile } from '../helpers/load.js'

const ROUNDS = Number(process.env.WISP_ROUNDS ?? 3)
const RUNS = Number(process.env.WISP_RUNS ?? 80)
const HOGS = 8 // hog invocations kept in flight
// The noisy bench's hog co-executes in one runtime (default concurrency): one busy thread. With
// WISP_HOG_CONCURRENCY=1 each in-flight run has a runtime of its own (up to 4): four busy threads.
const hogConcurrency = process.env.WISP_HOG_CONCURRENCY === undefined ? {} : { concurrency: Number(process.env.WISP_HOG_CONCURRENCY) }
const light = buildManifest('light', LIGHT, { timeout_ms: 5000 })
const hog = buildManifest('cpuhog', CPU_HOG, { timeout_ms: 5000, ...hogConcurrency })

const req = (m: typeof light, code: string): Parameters<Executor['invoke']>[0] =>
  ({ invocation: crypto.randomUUID(), requestId: 'r', manifest: m, code, event: {}, deadlineMs: Date.now() + 10_000 })

const measure = async (ex: Executor): Promise<{ p50: number, p99: number, runP99: number }> => {
  for (let i = 0; i < 5; i++) await ex.invoke(req(light, LIGHT)) // warm
  let on = true
  const hogs = Array.from({ length: HOGS }, async () => { while (on) await ex.invoke(req(hog, CPU_HOG)) })
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const e2e: number[] = []
  const run: number[] = []
  const pending: Array<Promise<void>> = []
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now()
    pending.push(ex.invoke(req(light, LIGHT)).then((o) => { e2e.push(performance.now() - t0); run.push(o.runMs) }))
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  await Promise.all(pending)
  on = false
  await Promise.all(hogs)
  return { p50: quantile(e2e, 0.5), p99: quantile(e2e, 0.99), runP99: quantile(run, 0.99) }
}

for (let round = 1; round <= ROUNDS; round++) {
  for (const mode of ['one host', 'low-priority host'] as const) {
    const pool = (budgetMb: number, niceBy?: number): RuntimePool => new RuntimePool({ budgetMb, board: 'bench', maxRuntimesPerFunction: 4, standbyHost: false, niceBy })
    const ex = mode === 'one host'
      ? pool(512)
      : new PriorityHosts({ normal: pool(256), low: pool(256, LOW_PRIORITY_NICE), isLong: (fn) => fn === hog.name, lowBudgetMb: 256 })
    try {
      await (ex as { start: () => Promise<void> }).start()
      const load = loadavg()[0]?.toFixed(1)
      const r = await measure(ex)
      console.log(`round ${round} ${mode}: light p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, run p99 ${r.runP99.toFixed(1)} ms (load average ${load})`)
    } finally { await ex.close() }
  }
}
