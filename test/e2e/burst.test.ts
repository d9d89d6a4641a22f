import t from 'tap'
import { testCluster } from '../helpers/cluster.js'
import { TestClient } from '../helpers/mqtt.js'

interface R { ok: boolean, result?: { count?: number }, error?: { code: string } }

// The reliability report: 2,000 `primes` invocations published at once by one client to the
// `wisp start` cluster (gateway with aedes and the leader in one process, boards as processes).
// Whether the old stack overflow shows here depends on timing; test/leader/burst.test.ts
// reproduces it deterministically.
t.test('2,000 primes at once from one client: the gateway survives and answers every one', async (t) => {
  const c = await testCluster({ boards: 2 })
  t.teardown(c.close)
  const client = await TestClient.connect(c.url)
  t.teardown(() => client.close())
  await client.sub('wisp/result/burst/#')
  const n = 2000
  const started = Date.now()
  await Promise.all(Array.from({ length: n }, async (_, i) => { await client.pub(`wisp/invoke/primes/burst/r${i}`, '{"n":2000}') }))
  await client.waitFor((r) => new Set(r.map((m) => m.topic)).size >= n, 110_000)
  const replies = [...new Map(client.received.map((m) => [m.topic, m.json as R])).values()]
  t.equal(replies.length, n, `${n} replies in ${Date.now() - started} ms`)
  const codes: Record<string, number> = {}
  for (const r of replies) { const k = r.ok ? 'ok' : r.error?.code ?? '?'; codes[k] = (codes[k] ?? 0) + 1 }
  t.same(Object.keys(codes).filter((k) => k !== 'ok' && k !== 'WISP_OVERLOADED'), [], JSON.stringify(codes))
  t.ok((codes.ok ?? 0) > 0, 'some ran')
  t.ok(c.cluster.gateway.leader.cluster.view().boards.every((b) => b.routable), 'every board still online')
})
