import t from 'tap'
import { startBroker } from '../../runtime/leader/broker.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { TestClient } from '../helpers/mqtt.js'

/**
 * aedes's message bus runs 100 messages at once and queues the rest; a queued message that no
 * subscription matches used to complete synchronously and start the next one from inside its own
 * completion, so a long run of them overflowed the stack and killed the gateway
 * (runtime/leader/broker-mq-guard.ts).
 */
t.test('a long queue of messages nobody subscribes to drains without overflowing the stack', async (t) => {
  const broker = await startBroker({ port: 0, log: silentLogger })
  t.teardown(broker.close)
  // A slow subscriber: 100 deliveries it has not finished fill the bus, so what follows queues.
  const held: Array<() => void> = []
  await new Promise<void>((resolve) => { broker.aedes.subscribe('slow/+', (_packet, cb) => { held.push(cb) }, resolve) })
  const N = 50_000
  let done = 0
  const publish = (topic: string): void => {
    broker.aedes.publish({ cmd: 'publish', topic, payload: Buffer.from('x'), qos: 0, retain: false, dup: false }, () => { done++ })
  }
  for (let i = 0; i < 100; i++) publish('slow/1')
  for (let i = 0; i < N; i++) publish(`nobody/${i % 7}`)
  await new Promise<void>((resolve, reject) => {
    const poll = (): void => { if (held.length >= 100) resolve(); else if (done > 0) reject(new Error('queued before the bus filled')); else setImmediate(poll) }
    poll()
  })
  t.doesNotThrow(() => { for (const cb of held.splice(0)) cb() }, 'releasing the slow deliveries drains the queue')
  await new Promise<void>((resolve) => { const poll = (): void => { if (done >= N + 100) resolve(); else setImmediate(poll) }; poll() })
  t.equal(done, N + 100, 'every publish completed')
  // The broker still routes.
  const sub = await TestClient.connect(broker.url)
  t.teardown(() => sub.close())
  await sub.sub('after/+')
  const pub = await TestClient.connect(broker.url)
  t.teardown(() => pub.close())
  await pub.pub('after/1', '{}', { qos: 1 })
  await sub.waitFor(() => sub.received.some((m) => m.topic === 'after/1'), 5000)
  t.pass('a message published afterwards is delivered')
})
