import t from 'tap'
import { startBroker } from '../../runtime/leader/broker.js'
import { AedesTransport } from '../../runtime/transport/aedes-transport.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { TestClient } from '../helpers/mqtt.js'

/**
 * aedes numbers each message when it takes it and drops, per subscriber, any message numbered
 * below one it already delivered (its duplicate check for overlapping subscriptions). A QoS 1
 * message waits for its offline-queue step before it is routed; a QoS 0 message taken after it
 * does not, overtakes it, and the QoS 1 message was silently lost (aedes issue 994). The gateway's
 * broker checks for exact duplicates instead (runtime/leader/broker-dedupe.ts).
 */
t.test('a QoS 1 message overtaken by a later QoS 0 message still reaches a subscriber of both', async (t) => {
  const broker = await startBroker({ port: 0, log: silentLogger })
  t.teardown(broker.close)
  const transport = new AedesTransport(broker.aedes)
  const sub = await TestClient.connect(broker.url)
  t.teardown(() => sub.close())
  await sub.sub('r/#')
  const pub = await TestClient.connect(broker.url)
  t.teardown(() => pub.close())
  const N = 300
  for (let i = 0; i < N; i++) {
    // A reply the gateway publishes at QoS 1, and a client's QoS 0 message on a matching topic right after it.
    void transport.publish(`r/reply/${i}`, `{"i":${i}}`, { qos: 1 })
    void broker.aedes.publish({ cmd: 'publish', topic: `r/noise/${i}`, payload: Buffer.from('{}'), qos: 0, retain: false, dup: false }, () => {})
    if (i % 50 === 49) await pub.pub(`r/client/${i}`, '{}', { qos: 0 })
  }
  const replies = (): number => sub.received.filter((m) => m.topic.startsWith('r/reply/')).length
  await sub.waitFor(() => replies() >= N && sub.received.filter((m) => m.topic.startsWith('r/noise/')).length >= N, 10_000).catch(() => {})
  t.equal(replies(), N, `all ${N} QoS 1 replies arrived`)
  t.equal(sub.received.filter((m) => m.topic.startsWith('r/noise/')).length, N, `and all ${N} QoS 0 messages`)
})

t.test('overlapping subscriptions still deliver each message once', async (t) => {
  const broker = await startBroker({ port: 0, log: silentLogger })
  t.teardown(broker.close)
  const sub = await TestClient.connect(broker.url)
  t.teardown(() => sub.close())
  await sub.sub('o/#')
  await sub.sub('o/+')
  await sub.sub('o/a')
  const pub = await TestClient.connect(broker.url)
  t.teardown(() => pub.close())
  for (let i = 0; i < 20; i++) await pub.pub('o/a', `{"i":${i}}`, { qos: i % 2 === 0 ? 0 : 1 })
  await pub.pub('o/end', '{}')
  await sub.waitFor((r) => r.some((m) => m.topic === 'o/end'), 10_000)
  await sub.waitFor((r) => r.length >= 21, 2000).catch(() => {})
  t.same(sub.on('o/a').map((m) => (m.json as { i: number }).i), [...Array(20).keys()], 'each of 20 messages once, in order')
  t.equal(sub.on('o/end').length, 1)
})
