import t from 'tap'
import { BROKERS, brokerMissing, testCluster } from '../helpers/cluster.js'
import { TestClient } from '../helpers/mqtt.js'

for (const broker of BROKERS) {
  t.test(`200 concurrent primes across 4 boards on ${broker}: all answered once, on live boards`, { skip: brokerMissing(broker) }, async (t) => {
    const c = await testCluster({ boards: 4, broker })
    t.teardown(c.close)
    const client = await TestClient.connect(c.url)
    t.teardown(() => client.close())
    await client.sub('wisp/result/load/#')
    const N = 200
    await Promise.all(Array.from({ length: N }, async (_, i) => await client.pub(`wisp/invoke/primes/load/q${i}`, JSON.stringify({ n: 20000 + i }))))
    await client.waitFor((r) => r.length >= N, 60_000)
    await new Promise((resolve) => setTimeout(resolve, 300)) // any duplicate would arrive now
    t.equal(client.received.length, N, 'exactly one reply per request')
    const ids = new Set(client.received.map((r) => r.topic))
    t.equal(ids.size, N, 'no request answered twice')
    const live = new Set(c.cluster.gateway.leader.cluster.view().boards.map((b) => b.id))
    const boards = new Map<string, number>()
    for (const r of client.received) {
      const reply = r.json as { ok: boolean, result: { n: number, count: number }, receipt: { board: string } }
      t.equal(reply.ok, true)
      t.ok(live.has(reply.receipt.board))
      boards.set(reply.receipt.board, (boards.get(reply.receipt.board) ?? 0) + 1)
    }
    t.ok(boards.size >= 2, `load spread over ${boards.size} boards`)
  })
}
