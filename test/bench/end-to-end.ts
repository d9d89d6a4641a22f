// End to end: a warm `hello` through broker, leader, board agent and isolate host, against a
// bare MQTT request/echo through the same broker with the same client library, QoS and JSON
// payload. The two are interleaved call by call in one run, so machine noise hits both alike.
import mqtt from 'mqtt'
import { testCluster } from '../helpers/cluster.js'
import { figure, info, report } from './lib/figures.js'
import { noDelay } from '../../runtime/transport/mqtt-transport.js'

const N = Number(process.env.WISP_BENCH_CALLS ?? 2000)
const WARM = 100

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] ?? NaN
}

const c = await testCluster({ boards: 4 })
const client = await mqtt.connectAsync(c.url, { reconnectPeriod: 0 })
const echo = await mqtt.connectAsync(c.url, { reconnectPeriod: 0 })
noDelay(client)
noDelay(echo)
await echo.subscribeAsync('bench/echo/req/+', { qos: 1 })
echo.on('message', (topic, payload) => { void echo.publishAsync(`bench/echo/res/${topic.slice(15)}`, payload, { qos: 1 }) })
await client.subscribeAsync('wisp/result/bench/#', { qos: 1 })
await client.subscribeAsync('bench/echo/res/+', { qos: 1 })

const waiters = new Map<string, () => void>()
client.on('message', (topic) => { waiters.get(topic)?.(); waiters.delete(topic) })
const roundTrip = async (pub: string, sub: string, payload: string): Promise<number> => {
  const t0 = performance.now()
  const got = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply on ${sub}`)), 10_000)
    waiters.set(sub, () => { clearTimeout(timer); resolve() })
  })
  await client.publishAsync(pub, payload, { qos: 1 })
  await got
  return performance.now() - t0
}

const payload = JSON.stringify({ name: 'edge' })
const wisp: number[] = []
const bare: number[] = []
for (let i = 0; i < N + WARM; i++) {
  const w = await roundTrip(`wisp/invoke/hello/bench/q${i}`, `wisp/result/bench/hello/q${i}`, payload)
  const e = await roundTrip(`bench/echo/req/e${i}`, `bench/echo/res/e${i}`, payload)
  if (i >= WARM) { wisp.push(w); bare.push(e) }
}
await client.endAsync()
await echo.endAsync()
await c.close()

const p50 = pct(wisp, 0.5)
const e50 = pct(bare, 0.5)
report('end-to-end', [
  figure({ figure: 'hello_round_trip_p50', value: p50, unit: 'ms', baseline: 'bare MQTT request/echo p50, same broker, client, QoS 1, payload', baseline_value: e50, goal: '<= 1.5', met: p50 / e50 <= 1.5 }),
  info({ figure: 'hello_round_trip_p99', value: pct(wisp, 0.99), unit: 'ms', baseline: 'bare MQTT request/echo p99', baseline_value: pct(bare, 0.99) }),
  info({ figure: 'added_ms_p50', value: p50 - e50, unit: 'ms', baseline: null, baseline_value: null }),
  info({ figure: 'calls', value: N, unit: 'count', baseline: null, baseline_value: null })
])
process.exit(0)
