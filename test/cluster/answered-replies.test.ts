import t from 'tap'
import mqtt from 'mqtt'
import { Redis } from 'ioredis'
import { startBroker } from '../../runtime/leader/broker.js'
import type { Invocation } from '../../runtime/leader/inflight.js'
import { clusterBackends } from '../../runtime/leader/redis-backends.js'
import { RedisInflightStore } from '../../runtime/leader/redis-inflight-store.js'
import { queuedTopics } from '../../runtime/leader/redis-queued-replies.js'
import { DeliveredReplies } from '../../runtime/leader/redis-delivered-replies.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { until } from '../helpers/leader-rig.js'
import { redisMissing, startRedis } from '../helpers/redis.js'

const skip = redisMissing()
const manifest = buildManifest('f', 'export async function handler () { return 1 }', { timeout_ms: 1000 })
const inv = (id: string): Invocation => ({
  invocation: id, requestId: id, dedupeKey: `c/f/${id}`, fn: 'f', manifest, event: {}, eventBytes: 2,
  reply: { topic: `wisp/result/c/f/${id}`, qos: 2 }, receivedAt: 1000, deadline: 60_000, attempt: 0, board: 'b1', sentTo: ['b1'], dispatchedAt: 1000, timer: null
})

// A leader killed after its reply reached the client's session but before its delete reached
// Redis: the next leader must take the invocation as answered (the session delivers the reply).
t.test('an invocation whose reply is already queued in its client\'s session is not recovered for another run', { skip }, async (t) => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const backends = clusterBackends(redis.url)
  const broker = await startBroker({ port: 0, host: '127.0.0.1', log: silentLogger, cluster: backends })
  t.teardown(async () => { await broker.close(); await backends.destroy() })
  const r = new Redis(redis.url)
  t.teardown(() => r.disconnect())

  // A client with a persistent session subscribed at QoS 2, then gone (its replies queue in Redis).
  const client = await mqtt.connectAsync(broker.url, { clientId: 'c-persistent', clean: false, reconnectPeriod: 0 })
  await client.subscribeAsync('wisp/result/c/#', { qos: 2 })
  await client.endAsync()

  const ns = 'wisp:test'
  const fence = Number(await r.incr(`${ns}:fence`))
  const old = new RedisInflightStore(r, ns, fence, silentLogger)
  for (const id of ['answered', 'pending']) await old.accepted(inv(id), 1000)
  // The reply to `answered` is published (the leader publishes as a client of its broker) and queued; the delete never happens.
  const leader = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 })
  t.teardown(() => leader.endAsync(true))
  await leader.publishAsync('wisp/result/c/f/answered', JSON.stringify({ ok: true, result: 1 }), { qos: 2 })
  for (let i = 0; !(await queuedTopics(r)).has('wisp/result/c/f/answered'); i++) {
    if (i > 250) throw new Error('the reply was never queued in Redis')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }

  const next = new RedisInflightStore(r, ns, Number(await r.incr(`${ns}:fence`)), silentLogger)
  const got = await next.recover(2000)
  t.same(got.invocations.map((x) => x.invocation), ['pending'], 'the answered invocation is not run again; the other is')
  t.same(got.seen.map(([k]) => k).sort(), ['c/f/answered', 'c/f/pending'], 'both stay in the dedupe window')
  await next.durable()
  t.same(Object.keys(await r.hgetall(`${ns}:inv`)), ['pending'], 'and it is deleted from the table')

  // The client comes back: the queued reply reaches it, once.
  const back = await mqtt.connectAsync(broker.url, { clientId: 'c-persistent', clean: false, reconnectPeriod: 0 })
  t.teardown(() => back.endAsync(true))
  const got1: string[] = []
  back.on('message', (topic) => got1.push(topic))
  await until(() => got1.length > 0, 5000, 'the queued reply')
  t.same(got1, ['wisp/result/c/f/answered'])
})

// The same leader death, but the client is online: a broker (here the one that survives) delivers
// the queued reply before the next leader is elected, so nothing is left in the session queue.
t.test('an invocation whose reply a broker of the cluster already delivered is not recovered for another run', { skip }, async (t) => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const r = new Redis(redis.url)
  t.teardown(() => r.disconnect())
  const ns = 'wisp:test'
  const delivered = new DeliveredReplies(r, ns, 'wisp/result/', silentLogger)
  const backends = clusterBackends(redis.url, async (topic) => await delivered.beforeWrite(topic, Date.now()))
  const broker = await startBroker({ port: 0, host: '127.0.0.1', log: silentLogger, cluster: backends })
  t.teardown(async () => { await broker.close(); await backends.destroy() })

  const client = await mqtt.connectAsync(broker.url, { clientId: 'c-online', clean: false, reconnectPeriod: 0 })
  t.teardown(() => client.endAsync(true))
  await client.subscribeAsync('wisp/result/c/#', { qos: 2 })
  const got: string[] = []
  client.on('message', (topic) => got.push(topic))

  const old = new RedisInflightStore(r, ns, Number(await r.incr(`${ns}:fence`)), silentLogger)
  for (const id of ['delivered', 'pending']) await old.accepted(inv(id), Date.now())
  const leader = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 })
  t.teardown(() => leader.endAsync(true))
  await leader.publishAsync('wisp/result/c/f/delivered', JSON.stringify({ ok: true, result: 1 }), { qos: 2 })
  await leader.publishAsync('wisp/status/x', 'not a reply', { qos: 1 })
  await until(() => got.length === 1, 5000, 'the reply at the client')
  // Once the client has completed QoS 2, nothing of it is left in its session.
  for (let i = 0; (await queuedTopics(r)).size > 0; i++) {
    if (i > 250) throw new Error('the session queue never emptied')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }

  const next = new RedisInflightStore(r, ns, Number(await r.incr(`${ns}:fence`)), silentLogger)
  const rec = await next.recover(Date.now())
  t.same(rec.invocations.map((x) => x.invocation), ['pending'], 'the delivered one is not run again; the other is')
  t.same(await r.zrange(`${ns}:delivered`, 0, -1), ['wisp/result/c/f/delivered'], 'only replies are recorded')
})
