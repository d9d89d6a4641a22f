import t from 'tap'
import mqtt from 'mqtt'
import { startBroker } from '../../runtime/leader/broker.js'
import { FITS_EVERY_TOPIC, limitPublishSize, maxPayloadBytes, MAX_FOREIGN_BYTES } from '../../runtime/leader/broker-limits.js'
import { MAX_CODE_BYTES, MAX_MESSAGE_BYTES } from '../../runtime/protocol/messages.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { TestClient } from '../helpers/mqtt.js'

const topics = new Topics()

t.test('each topic kind has its own payload limit', async (t) => {
  t.equal(maxPayloadBytes(topics, 'wisp/code/' + 'a'.repeat(64)), MAX_CODE_BYTES)
  t.equal(maxPayloadBytes(topics, 'wisp/functions/hello'), MAX_MESSAGE_BYTES.manifest)
  t.equal(maxPayloadBytes(topics, 'wisp/boards/b1/control'), MAX_MESSAGE_BYTES.control)
  t.equal(maxPayloadBytes(topics, 'wisp/boards/b1/state'), MAX_MESSAGE_BYTES.state)
  t.equal(maxPayloadBytes(topics, 'wisp/no/such/kind'), 64 * 1024)
  t.equal(maxPayloadBytes(topics, 'sensors/b1/temp'), MAX_FOREIGN_BYTES)
})

t.test('a payload small enough for every topic skips the topic lookup, and no topic allows less', async (t) => {
  const channels = ['state', 'run', 'done', 'control', 'cap', 'cap-reply'].map((c) => `wisp/boards/b1/${c}`)
  const all = ['wisp/invoke/f/c/r1', 'wisp/result/c/f/r1', 'wisp/functions/f', 'wisp/code/' + 'a'.repeat(64), 'wisp/leader/state', 'wisp/no/such/kind', 'sensors/x', ...channels]
  const limits = all.map((topic) => maxPayloadBytes(topics, topic))
  t.equal(Math.min(...limits), FITS_EVERY_TOPIC, 'the shortcut is the smallest limit of any topic')
  const check = limitPublishSize(topics)
  const verdict = async (topic: string, bytes: number): Promise<Error | null> => await new Promise((resolve) => {
    check(null as never, { cmd: 'publish', topic, payload: Buffer.alloc(bytes), qos: 1, retain: false, dup: false } as never, (err) => { resolve(err ?? null) })
  })
  t.equal(await verdict('wisp/boards/b1/control', FITS_EVERY_TOPIC), null)
  t.match(await verdict('wisp/boards/b1/control', FITS_EVERY_TOPIC + 1), /over its limit of 4096 bytes/)
})

t.test('an oversized PUBLISH is neither forwarded nor retained; one within its limit is', async (t) => {
  const broker = await startBroker({ port: 0, host: '127.0.0.1', log: silentLogger, auth: { authorizePublish: limitPublishSize(topics) } })
  t.teardown(() => broker.close())
  const observer = await TestClient.connect(broker.url)
  t.teardown(() => observer.close())
  await observer.sub('wisp/#')
  const attacker = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 })
  const closed = new Promise<void>((resolve) => attacker.once('close', () => resolve()))
  attacker.publish('wisp/functions/hello', Buffer.alloc(MAX_MESSAGE_BYTES.manifest + 1, 0x20), { qos: 1, retain: true })
  await closed // MQTT 3.1.1 has no negative PUBACK: the broker closes the connection
  attacker.end(true)
  const ok = await TestClient.connect(broker.url)
  t.teardown(() => ok.close())
  await ok.pub('wisp/functions/probe', Buffer.alloc(100, 0x20)) // the control: a small one goes through
  await observer.waitFor((r) => r.some((m) => m.topic === 'wisp/functions/probe'), 5000)
  t.notOk(observer.received.some((m) => m.topic === 'wisp/functions/hello'), 'the oversized manifest was not forwarded')
  const late = await TestClient.connect(broker.url)
  t.teardown(() => late.close())
  await late.sub('wisp/functions/#')
  await ok.pub('wisp/functions/probe2', '{}')
  await late.waitFor((r) => r.some((m) => m.topic === 'wisp/functions/probe2'), 5000)
  t.notOk(late.received.some((m) => m.topic === 'wisp/functions/hello'), 'nor retained')
})
