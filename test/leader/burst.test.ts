import t from 'tap'
import { TestClient } from '../helpers/mqtt.js'
import { ScriptedBoard, leaderRig, until } from '../helpers/leader-rig.js'

interface R { ok: boolean, result?: unknown, error?: { code: string } }

t.test('2,000 invokes at once behind a slow subscriber: the gateway stays up and answers every one', async (t) => {
  const rig = await leaderRig()
  t.teardown(rig.close)
  await rig.deploy('echo')
  const boards = await Promise.all(['b1', 'b2', 'b3', 'b4'].map(async (id) => await ScriptedBoard.start(rig.broker.url, id)))
  t.teardown(async () => { for (const b of boards) await b.close() })
  await until(() => boards.every((b) => rig.leader.cluster.routable(b.id)), 5000, 'boards to join')
  // A consumer of results that takes 20 ms per message (a client on a slow link, a bridge):
  // its deliveries hold aedes's emitter slots (concurrency 100), so the burst queues behind
  // them, and the queue drains through the in-process leader's subscription.
  await new Promise<void>((resolve) => rig.broker.aedes.subscribe('wisp/result/#', (_p, cb) => { setTimeout(cb, 20) }, resolve))
  const client = await TestClient.connect(rig.broker.url)
  t.teardown(() => client.close())
  await client.sub('wisp/result/burst/#')
  await client.sub('wisp/result/warm/#')
  const n = 2000
  const sent = []
  for (let i = 0; i < 200; i++) sent.push(rig.transport.publish(`wisp/invoke/echo/warm/w${i}`, String(i)))
  await new Promise((resolve) => setImmediate(resolve))
  for (let i = 0; i < n; i++) sent.push(rig.transport.publish(`wisp/invoke/echo/burst/r${i}`, String(i)))
  await Promise.all(sent)
  await client.waitFor((r) => new Set(r.map((m) => m.topic)).size >= n + 200, 60_000)
  const replies = new Map(client.received.map((m) => [m.topic, m.json as R]))
  t.equal(replies.size, n + 200, 'one reply per request')
  const bad = [...replies.values()].filter((r) => !r.ok && r.error?.code !== 'WISP_OVERLOADED')
  t.same(bad, [], 'each is a result or WISP_OVERLOADED')
  t.equal(replies.get('wisp/result/burst/echo/r1999')?.result ?? 1999, 1999)
})

t.test('2,000 invokes from one MQTT client at once are all answered', async (t) => {
  const rig = await leaderRig()
  t.teardown(rig.close)
  await rig.deploy('echo')
  const boards = await Promise.all(['b1', 'b2'].map(async (id) => await ScriptedBoard.start(rig.broker.url, id)))
  t.teardown(async () => { for (const b of boards) await b.close() })
  await until(() => boards.every((b) => rig.leader.cluster.routable(b.id)), 5000, 'boards to join')
  const client = await TestClient.connect(rig.broker.url)
  t.teardown(() => client.close())
  await client.sub('wisp/result/burst/#')
  const n = 2000
  await Promise.all(Array.from({ length: n }, async (_, i) => { await client.pub(`wisp/invoke/echo/burst/r${i}`, String(i)) }))
  await client.waitFor((r) => new Set(r.map((m) => m.topic)).size >= n, 60_000)
  const replies = [...new Map(client.received.map((m) => [m.topic, m.json as R])).values()]
  t.equal(replies.length, n)
  t.same(replies.filter((r) => !r.ok && r.error?.code !== 'WISP_OVERLOADED'), [])
})
