import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import t from 'tap'
import { startBroker } from '../../runtime/leader/broker.js'
import { AedesTransport } from '../../runtime/transport/aedes-transport.js'
import { MqttTransport } from '../../runtime/transport/mqtt-transport.js'
import { batchWrites, writeNextAtOnce } from '../../runtime/transport/batch-writes.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { TestClient } from '../helpers/mqtt.js'

/** Write system calls this process has made so far (proc(5), /proc/<pid>/io `syscw`). */
const writeCalls = (): number => Number(/syscw:\s*(\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1])

t.test('a burst of deliveries to one client leaves in a few writes, not one per packet', { skip: process.platform !== 'linux' && 'needs /proc/self/io' }, async (t) => {
  const broker = await startBroker({ port: 0, log: silentLogger })
  t.teardown(broker.close)
  const transport = new AedesTransport(broker.aedes)
  // QoS 0 on both sides: the client answers nothing, so every write counted is the broker's.
  const sub = await TestClient.connect(broker.url)
  t.teardown(() => sub.close())
  await sub.client.subscribeAsync('w/#', { qos: 0 })
  const N = 64
  const before = writeCalls()
  for (let i = 0; i < N; i++) void transport.publish(`w/${i}`, `{"i":${i}}`, { qos: 0 })
  await sub.waitFor((r) => r.length >= N, 10_000)
  const writes = writeCalls() - before
  t.ok(writes <= N / 4, `${N} packets in ${writes} write calls`)
  t.same(sub.received.map((m) => (m.json as { i: number }).i), [...Array(N).keys()], 'every packet arrived once, in order')
})

t.test('QoS 1 and QoS 0 deliveries in one burst all arrive, each in its order', async (t) => {
  const broker = await startBroker({ port: 0, log: silentLogger })
  t.teardown(broker.close)
  const transport = new AedesTransport(broker.aedes)
  const sub = await TestClient.connect(broker.url)
  t.teardown(() => sub.close())
  await sub.sub('q/#')
  const N = 500
  for (let i = 0; i < N; i++) void transport.publish(`q/${i % 2}/${i}`, `{"i":${i}}`, { qos: (i % 2) as 0 | 1 })
  await sub.waitFor((r) => r.length >= N, 10_000)
  // aedes lets a QoS 0 message overtake a QoS 1 one (broker-dedupe.ts): the order holds per QoS.
  for (const q of [0, 1]) {
    const got = sub.received.filter((m) => m.topic.startsWith(`q/${q}/`)).map((m) => (m.json as { i: number }).i)
    t.same(got, [...Array(N / 2).keys()].map((k) => 2 * k + q), `QoS ${q}: ${N / 2} packets, once each, in order`)
  }
})

t.test("a client's acknowledgments of a burst leave in a few writes (an agent's PUBACKs for its runs)", { skip: process.platform !== 'linux' && 'needs /proc/self/io' }, async (t) => {
  const broker = await startBroker({ port: 0, log: silentLogger })
  t.teardown(broker.close)
  const transport = new AedesTransport(broker.aedes)
  const client = await MqttTransport.open({ url: broker.url })
  t.teardown(async () => { await client.close() })
  const N = 64
  const got: number[] = []
  let all = (): void => {}
  const arrived = new Promise<void>((resolve) => { all = resolve })
  await client.subscribe('a/#', (m) => { got.push((JSON.parse(m.payload.toString()) as { i: number }).i); if (got.length === N) all() })
  const before = writeCalls()
  // QoS 1: the client answers each with a PUBACK; the broker's own deliveries are batched too.
  for (let i = 0; i < N; i++) void transport.publish(`a/${i}`, `{"i":${i}}`, { qos: 1 })
  await arrived
  // The last PUBACKs leave at the next turn's immediates.
  await new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)))
  const writes = writeCalls() - before
  t.ok(writes <= N / 4, `${N} deliveries and ${N} PUBACKs in ${writes} write calls`)
  t.same(got, [...Array(N).keys()], 'each once, in order')
})

t.test('a write marked to leave at once is not held for the turn, nor is what was corked before it', async (t) => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const accepted = once(server, 'connection') as Promise<[Socket]>
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1')
  t.teardown(() => { client.destroy() })
  const [sock] = await accepted
  batchWrites(sock)
  sock.write('a')
  t.equal(sock.writableLength, 1, 'a write waits for the turn')
  // A persistent session's reply, journalled as answered just before its write (docs/delivery.md).
  writeNextAtOnce(sock)
  sock.write('b')
  t.equal(sock.writableLength, 0, 'the marked write leaves at once, and what was corked with it')
  sock.write('c')
  t.equal(sock.writableLength, 1, 'later writes wait for the turn again')
  let got = ''
  client.on('data', (d: Buffer) => { got += d.toString() })
  while (got.length < 3) await once(client, 'data')
  t.equal(got, 'abc', 'in order')
  sock.destroy()
})
