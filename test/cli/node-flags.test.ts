import { spawnSync } from 'node:child_process'
import t from 'tap'
import { GATEWAY_HEAP_FLAGS, NODE_FLAGS, nodeFlags } from '../../runtime/shared/node-flags.js'

// A young generation under churn: 50,000 objects alive at a time, 3 million allocated.
const CHURN = `const v8 = require('v8'); const ring = new Array(50000); let max = 0
for (let i = 0; i < 3e6; i++) {
  ring[i % ring.length] = { i, s: 'v' + i, a: [i, i + 1] }
  if (i % 10000 === 0) max = Math.max(max, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size)
}
console.log(max / 2 ** 20)`
const newSpaceMaxMb = (flags: readonly string[]): number => {
  const r = spawnSync(process.execPath, [...flags, '-e', CHURN], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`node ${flags.join(' ')} failed: ${r.stderr}`)
  return Number(r.stdout.trim())
}

t.test('the gateway commands get the heap flags; the others only what every process needs', async (t) => {
  for (const c of ['gateway', 'start']) t.same(nodeFlags(c), [...NODE_FLAGS, ...GATEWAY_HEAP_FLAGS], c)
  for (const c of ['board', 'deploy', 'invoke', undefined]) t.same(nodeFlags(c), NODE_FLAGS, String(c))
})

t.test('this Node accepts the gateway heap flags, and they bound its young generation under churn', async (t) => {
  const semi = Number(GATEWAY_HEAP_FLAGS.find((f) => f.startsWith('--max-semi-space-size='))?.split('=')[1])
  t.ok(semi > 0, 'a semi-space bound is set')
  const bounded = newSpaceMaxMb([...NODE_FLAGS, ...GATEWAY_HEAP_FLAGS])
  t.ok(bounded <= 2 * semi, `young generation ${bounded} MB <= 2 x ${semi} MB`)
  const unbounded = newSpaceMaxMb(NODE_FLAGS)
  t.ok(unbounded > 2 * semi, `without the flags the same churn grows it to ${unbounded} MB`)
})
