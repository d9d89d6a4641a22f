import t from 'tap'
import mqtt from 'mqtt'
import { Topics } from '../../runtime/protocol/topics.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { MqttTransport } from '../../runtime/transport/mqtt-transport.js'
import { testCluster } from '../helpers/cluster.js'
import { TestClient } from '../helpers/mqtt.js'
import { until } from '../helpers/leader-rig.js'
import { FIXTURES } from '../fixtures/functions.js'

interface R { ok: boolean, result?: Record<string, unknown>, error?: { code: string, message: string }, receipt?: { board?: string, power_w?: number } }

const c = await testCluster({ boards: 2, leader: { waitMs: 2000 } })
t.teardown(c.close)
const topics = new Topics()

// Deploy the fixtures the way `wisp deploy` does (raw publishes, so bad code reaches the boards too).
const deployer = await MqttTransport.open({ url: c.url })
await publishDeployment(deployer, topics, buildManifest('throws', FIXTURES.throws), FIXTURES.throws)
await publishDeployment(deployer, topics, buildManifest('slow', FIXTURES.slow, { timeout_ms: 300 }), FIXTURES.slow)
await publishDeployment(deployer, topics, buildManifest('syntax', FIXTURES.syntax), FIXTURES.syntax)
await publishDeployment(deployer, topics, buildManifest('nohandler', FIXTURES.nohandler), FIXTURES.nohandler)
await publishDeployment(deployer, topics, buildManifest('echo', FIXTURES.echo), FIXTURES.echo)
await deployer.close()

const client = await TestClient.connect(c.url)
t.teardown(() => client.close())
await client.sub('wisp/result/t/#')
let n = 0
const call = async (fn: string, payload: string | Buffer): Promise<R> => {
  const req = `r${++n}`
  const topic = `wisp/result/t/${fn}/${req}`
  await client.pub(`wisp/invoke/${fn}/t/${req}`, payload)
  await client.waitFor(() => client.on(topic).length > 0, 15_000)
  return client.on(topic)[0]?.json as R
}

t.test('hello answers with a greeting and an energy receipt', async (t) => {
  const r = await call('hello', '{"name":"edge"}')
  t.equal(r.ok, true)
  t.equal(r.result?.greeting, 'hello, edge')
  t.match(r.receipt, { request_id: 'r' + n, function: 'hello', attempt: 0, cold: Boolean, queue_ms: Number, run_ms: Number, total_ms: Number, energy_mj: Number, power_w: Number })
  t.ok(['b1', 'b2'].includes(r.receipt?.board ?? ''), 'ran on a live board')
  t.ok((r.receipt?.power_w ?? 0) > 0, 'power is reported')
})

t.test('an empty payload is a null event', async (t) => {
  const r = await call('echo', '')
  t.same(r, { ok: true, result: null, receipt: r.receipt })
})

t.test('primes is computed on the board', async (t) => {
  const r = await call('primes', '{"n":100}')
  t.same(r.result, { n: 100, count: 25, largest: 97 })
})

t.test('WISP_UNKNOWN_FUNCTION', async (t) => {
  const r = await call('nosuch', '{}')
  t.equal(r.ok, false)
  t.equal(r.error?.code, 'WISP_UNKNOWN_FUNCTION')
  t.match(r.error?.message, /nosuch/)
})

t.test('WISP_BAD_PAYLOAD for a non-JSON event', async (t) => {
  const r = await call('hello', '{"name":')
  t.equal(r.error?.code, 'WISP_BAD_PAYLOAD')
  t.match(r.error?.message, /not valid JSON/)
})

t.test('WISP_PAYLOAD_TOO_LARGE past 256 KiB', async (t) => {
  const r = await call('echo', JSON.stringify({ s: 'x'.repeat(300 * 1024) }))
  t.equal(r.error?.code, 'WISP_PAYLOAD_TOO_LARGE')
  t.match(r.error?.message, /limit is 262144/)
})

t.test('WISP_FUNCTION_ERROR passes the message on', async (t) => {
  const r = await call('throws', '{}')
  t.equal(r.error?.code, 'WISP_FUNCTION_ERROR')
  t.match(r.error?.message, /boom: the handler failed/)
  t.ok(r.receipt, 'a failed run still has a receipt')
})

t.test('WISP_TIMEOUT past timeout_ms', async (t) => {
  const r = await call('slow', '{}')
  t.equal(r.error?.code, 'WISP_TIMEOUT')
})

t.test('WISP_BAD_CODE for a syntax error and for a module without handler', async (t) => {
  const a = await call('syntax', '{}')
  t.equal(a.error?.code, 'WISP_BAD_CODE')
  const b = await call('nohandler', '{}')
  t.equal(b.error?.code, 'WISP_BAD_CODE')
  t.match(b.error?.message, /handler/)
})

t.test('a repeated request id gets no second reply; retained invokes are ignored', async (t) => {
  await client.pub('wisp/invoke/hello/t/dup1', '{}')
  await client.pub('wisp/invoke/hello/t/dup1', '{}')
  await client.pub('wisp/invoke/hello/t/ret1', '{}', { retain: true })
  await client.waitFor(() => client.on('wisp/result/t/hello/dup1').length > 0)
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.equal(client.on('wisp/result/t/hello/dup1').length, 1)
  t.equal(client.on('wisp/result/t/hello/ret1').length, 0)
  await client.pub('wisp/invoke/hello/t/ret1', '', { retain: true }) // clear it
})

t.test('malformed topics and payloads never take the cluster down', async (t) => {
  await client.pub('wisp/invoke/Bad Name/t/r', '{}')
  await client.pub('wisp/boards/b1/done', 'garbage')
  await client.pub('wisp/boards/b1/state', '{"v":1}')
  await client.pub('wisp/boards/b1/run', '{"v":9}')
  await client.pub('wisp/boards/b1/control', '[]')
  const r = await call('hello', '{}')
  t.equal(r.ok, true)
})

t.test('a reply goes at the QoS of its invoke: 2 for a QoS 2 invoke (exactly once to a QoS 2 subscriber), else 1', async (t) => {
  const q = await mqtt.connectAsync(c.url, { clientId: 'qos-probe', reconnectPeriod: 0 })
  t.teardown(async () => { await q.endAsync(true) })
  const got = new Map<string, number>()
  q.on('message', (topic, _payload, packet) => { got.set(topic, packet.qos) })
  await q.subscribeAsync('wisp/result/q/#', { qos: 2 })
  await q.publishAsync('wisp/invoke/echo/q/two', '{"a":2}', { qos: 2 })
  await q.publishAsync('wisp/invoke/echo/q/one', '{"a":1}', { qos: 1 })
  await until(() => got.size === 2, 15_000, 'both replies')
  t.equal(got.get('wisp/result/q/echo/two'), 2, 'QoS 2 invoke, QoS 2 reply')
  t.equal(got.get('wisp/result/q/echo/one'), 1, 'QoS 1 invoke, QoS 1 reply')
})
