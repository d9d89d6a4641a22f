import t from 'tap'
import { testCluster } from '../helpers/cluster.js'
import { measureNoisy } from '../helpers/noisy.js'

const RUNS = Number(process.env.WISP_NOISY_RUNS ?? 30)

t.test('noisy neighbours: a light function never fails beside a CPU hog or a memory hog at full load; the memory hog is stopped at its limit', async (t) => {
  const c = await testCluster({ boards: 2, policy: 'wisp-no-gate' })
  t.teardown(c.close)
  const r = await measureNoisy(c.cluster.gateway, c.url, RUNS)
  t.comment(JSON.stringify(r))
  t.equal(r.alone.errors + r.withCpu.errors + r.withMem.errors, 0, 'the light function never fails')
  t.ok((r.memhogCodes.WISP_MEMORY_LIMIT ?? 0) > 0, 'the memory hog is stopped at its limit, again and again, without taking a board down')
  // The goal p99 ≤ 2 × alone is measured with its verdict by test/bench/reliability.ts: on one shared
  // host the hogs take the CPU of every process (gateway and boards) alike, and it is not met there.
  t.ok(r.withCpu.p99 < 5000 && r.withMem.p99 < 5000, `the light function stays within its 5 s timeout (p99 ${r.withCpu.p99.toFixed(0)} / ${r.withMem.p99.toFixed(0)} ms)`)
})
