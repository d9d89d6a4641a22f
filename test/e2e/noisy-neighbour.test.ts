import t from 'tap'
import { testCluster } from '../helpers/cluster.js'
import { LoadClient } from '../helpers/load.js'
import { measureNoisy } from '../helpers/noisy.js'

const RUNS = Number(process.env.WISP_NOISY_RUNS ?? 40)

// The goal "the light function's p99 stays ≤ 2 × its p99 alone" is measured beside each hog, with
// its verdict, by test/bench/reliability.ts; on this 2-core host it is missed (about 3-4× a low
// p99 alone), because every simulated board's hogs share the host's cores with the light function
// (its run time grows, not its wait), so it is not asserted here. What this test holds is wisp's
// part: beside a hog that keeps every run slot held, the light function waits for no hog run to
// finish (the board's short lane; without it the median wait on the board was 150-210 ms), even at
// its p99 (its first, cold run on a board once cost it the lane, and a hog's first burst once put
// a hog run in the lane: p99 waits of 500-700 ms), and the hogs hurt no board and leave no damage.
t.test('noisy neighbours: a light function waits for no hog to finish; CPU and memory hogs at full load take no board down, the memory hog is stopped at its limit, and a light function is served normally afterwards', async (t) => {
  const c = await testCluster({ boards: 2, policy: 'wisp-no-gate' })
  t.teardown(c.close)
  const g = c.cluster.gateway
  const incarnations = g.leader.cluster.view().boards.map((b) => g.leader.cluster.get(b.id)?.incarnation)
  const r = await measureNoisy(g, c.url, RUNS)
  t.comment(JSON.stringify(r))
  t.ok(r.withSlots.queueP50 < 50, `beside a hog holding every run slot, the light function's median wait on the board (${r.withSlots.queueP50} ms) is far below one hog run (300 ms)`)
  t.ok(r.withSlots.queueP99 < 300, `and its p99 wait there (${r.withSlots.queueP99} ms) is below one hog run (300 ms on the faster board, 750 ms on the slower)`)
  t.ok(r.withCpu.queueP50 < 50, `and beside a CPU hog at full load (${r.withCpu.queueP50} ms)`)
  // With Nagle's algorithm on the client's socket, its light invokes waited behind the hog's own
  // invokes on that connection for the gateway's PUBACK or a delayed ACK: medians of 4-23 ms here.
  t.ok(r.withSlots.outsideP50 < 4, `and its invokes reach the leader, and its replies the client, without waiting behind the hog's traffic on the same connection (median ${r.withSlots.outsideP50} ms outside the gateway)`)
  t.equal(r.withSlots.errors, 0, 'and every light invocation succeeds')
  t.ok((r.memhogCodes.WISP_MEMORY_LIMIT ?? 0) > 0, 'the memory hog is stopped at its limit, again and again')
  t.same(g.leader.cluster.view().boards.map((b) => g.leader.cluster.get(b.id)?.incarnation), incarnations, 'no board restarted')
  const load = await LoadClient.connect(c.url, 'after')
  t.teardown(() => load.close())
  for (let i = 0; i < 10; i++) load.send('light', {})
  t.ok(await load.settle(10_000), 'the light function is answered after the hogs stop')
  t.equal(load.stats().ok, 10, 'and succeeds')
})
