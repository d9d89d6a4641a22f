import t from 'tap'
import { testCluster } from '../helpers/cluster.js'
import { LoadClient, rssMb } from '../helpers/load.js'
import { TestClient } from '../helpers/mqtt.js'
import { logsTopic } from '../../runtime/protocol/admin.js'

const BURST = Number(process.env.WISP_BURST ?? 2000)

t.test(`a burst of ${BURST} invocations: every one answered, overload refused at once, few timeouts`, async (t) => {
  const c = await testCluster({ boards: 4, policy: 'wisp-no-gate' })
  t.teardown(c.close)
  const load = await LoadClient.connect(c.url, 'burst')
  t.teardown(() => load.close())
  // Warm up and take a baseline latency.
  for (let i = 0; i < 20; i++) load.send('primes', { n: 20000 })
  t.ok(await load.settle(30_000), 'warm-up answered')
  const base = new Set<string>()
  for (let i = 0; i < 20; i++) { base.add(load.send('primes', { n: 20000 })); await load.settle(10_000) }
  const before = load.stats((o) => base.has(o.id))
  const rss0 = process.memoryUsage().rss / 2 ** 20
  const boardRss0 = await Promise.all(c.cluster.boards.map(async (b) => await rssMb(b.pid as number)))

  const seenAt = new Map<string, { at: number }>()
  c.cluster.gateway.leader.onCompletion((x) => { seenAt.set(x.requestId, { at: performance.now() }) })
  // The function's log lines as `wisp logs --follow` gets them: refusals come once a second, not one each.
  const logs = await TestClient.connect(c.url)
  t.teardown(() => logs.close())
  await logs.sub(logsTopic('wisp', 'primes'))
  const ids = new Set<string>()
  const burst0 = performance.now()
  for (let i = 0; i < BURST; i++) ids.add(load.send('primes', { n: 20000 }))
  const settled = await load.settle(90_000)
  const burstS = (performance.now() - burst0) / 1000
  const s = load.stats((o) => ids.has(o.id))
  t.comment(JSON.stringify({ ...s, baselineP99: before.p99Ms }))
  t.ok(settled, 'every request answered')
  t.equal(s.lost, 0, 'none lost')
  t.equal(s.duplicates, 0, 'no duplicate replies')
  t.equal(s.foreign, 0, 'every error is a WISP_* code')
  t.ok((s.codes.WISP_TIMEOUT ?? 0) <= BURST * 0.01, `at most 1 % WISP_TIMEOUT (${s.codes.WISP_TIMEOUT ?? 0})`)
  const overloaded = [...load.outcomes.values()].filter((o) => ids.has(o.id) && o.replies[0]?.code === 'WISP_OVERLOADED').map((o) => (o.replies[0]?.at ?? 0) - o.sentAt)
  overloaded.sort((a, b) => a - b)
  const overP50 = overloaded[Math.floor(overloaded.length / 2)] ?? 0
  const lo = [...load.outcomes.values()].filter((o) => ids.has(o.id) && o.replies[0]?.code === 'WISP_OVERLOADED').map((o) => (seenAt.get(o.id)?.at ?? 0) - o.sentAt).sort((a, b) => a - b)
  t.comment(`the leader refused them ${(lo[Math.floor(lo.length / 2)] ?? 0).toFixed(0)} ms (median) after they were sent: the rest is the broker's queue`)
  t.comment(`WISP_OVERLOADED: ${overloaded.length}, median after ${overP50.toFixed(0)} ms`)
  t.ok(overP50 < 3000, `WISP_OVERLOADED comes at once, not after the queue (median ${overP50.toFixed(0)} ms)`)
  const refusalLines = logs.received.filter((m) => /WISP_OVERLOADED|WISP_RATE_LIMITED/.test(m.payload.toString())).length
  t.ok(refusalLines <= 2 * (Math.ceil(burstS) + 1), `${overloaded.length} refusals made ${refusalLines} log lines over ${burstS.toFixed(1)} s (one a second per code)`)

  // After the burst: latency back near its baseline, memory not grown.
  await new Promise<void>((resolve) => { const wait = (): void => { if (c.cluster.gateway.leader.inflightCount() === 0) resolve(); else setTimeout(wait, 50) }; wait() })
  const after = new Set<string>()
  for (let i = 0; i < 20; i++) { after.add(load.send('primes', { n: 20000 })); await load.settle(10_000) }
  const a = load.stats((o) => after.has(o.id))
  t.comment(`p99 before ${before.p99Ms.toFixed(1)} ms, after ${a.p99Ms.toFixed(1)} ms`)
  t.ok(a.p99Ms <= Math.max(1.5 * before.p99Ms, before.p99Ms + 50), 'p99 back within 1.5x of before (50 ms slack for a loaded CI host)')
  const grown = process.memoryUsage().rss / 2 ** 20 - rss0
  const boardRss1 = await Promise.all(c.cluster.boards.map(async (b) => await rssMb(b.pid as number)))
  t.comment(`gateway RSS +${grown.toFixed(1)} MB; boards ${boardRss1.map((r, i) => `+${(r - (boardRss0[i] ?? 0)).toFixed(1)}`).join(' ')} MB`)
  t.ok(grown < 50, 'gateway RSS grows < 50 MB')
  t.ok(boardRss1.every((r, i) => !(r - (boardRss0[i] ?? 0) >= 50)), 'each board RSS grows < 50 MB')
})
