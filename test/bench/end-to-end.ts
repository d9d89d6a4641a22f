// End to end: a warm `hello` through broker, leader, board agent (its own process) and isolate
// host, against a bare MQTT request/echo answered by an echo process of its own through the
// same broker with the same client library, QoS and JSON payload. The two are interleaved call
// by call in one run, so machine noise hits both alike. A call with no reply in 10 s counts as
// failed and is left out of the percentiles.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import mqtt from 'mqtt'
import { testCluster } from '../helpers/cluster.js'
import { figure, info, quantile, report } from './lib/figures.js'
import { noDelay } from '../../runtime/transport/mqtt-transport.js'

const N = Number(process.env.WISP_BENCH_CALLS ?? 2000)
const WARM = 100

const c = await testCluster({ boards: 4 })
const echo = fork(fileURLToPath(new URL('./lib/echo-process.ts', import.meta.url)), [c.url], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
const [ready] = await Promise.race([once(echo, 'message'), once(echo, 'exit').then(() => { throw new Error('echo process exited') })]) as unknown[]
if (ready !== 'ready') throw new Error('echo process did not start')
const client = await mqtt.connectAsync(c.url, { reconnectPeriod: 0 })
noDelay(client)
await client.subscribeAsync('wisp/result/bench/#', { qos: 1 })
await client.subscribeAsync('bench/echo/res/+', { qos: 1 })

const waiters = new Map<string, () => void>()
client.on('message', (topic) => { waiters.get(topic)?.(); waiters.delete(topic) })
/** Milliseconds to the reply, or null when none came within 10 s. */
const roundTrip = async (pub: string, sub: string, payload: string): Promise<number | null> => {
  const t0 = performance.now()
  let timer: NodeJS.Timeout | undefined
  const got = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => { waiters.delete(sub); resolve(false) }, 10_000)
    waiters.set(sub, () => resolve(true))
  })
  await client.publishAsync(pub, payload, { qos: 1 })
  const ok = await got
  clearTimeout(timer)
  return ok ? performance.now() - t0 : null
}

const payload = JSON.stringify({ name: 'edge' })
const wisp: number[] = []
const bare: number[] = []
let wispFailed = 0
let bareFailed = 0
for (let i = 0; i < N + WARM; i++) {
  const w = await roundTrip(`wisp/invoke/hello/bench/q${i}`, `wisp/result/bench/hello/q${i}`, payload)
  const e = await roundTrip(`bench/echo/req/e${i}`, `bench/echo/res/e${i}`, payload)
  if (i < WARM) continue
  if (w === null) wispFailed++; else wisp.push(w)
  if (e === null) bareFailed++; else bare.push(e)
}
await client.endAsync()
echo.disconnect()
await c.close()

const BASE = 'bare MQTT request/echo, echo in its own process (same broker, mqtt.js, QoS 1, payload)'
const p50 = quantile(wisp, 0.5)
const e50 = quantile(bare, 0.5)
report('end-to-end', [
  figure({ figure: 'hello_round_trip_p50', value: p50, unit: 'ms', baseline: `${BASE} p50`, baseline_value: e50, goal: '<= 1.5', met: p50 / e50 <= 1.5, failures: wispFailed }),
  info({ figure: 'hello_round_trip_p99', value: quantile(wisp, 0.99), unit: 'ms', baseline: `${BASE} p99`, baseline_value: quantile(bare, 0.99), failures: wispFailed }),
  info({ figure: 'added_ms_p50', value: p50 - e50, unit: 'ms', baseline: null, baseline_value: null }),
  info({ figure: 'baseline echo failures', value: bareFailed, unit: 'count', baseline: null, baseline_value: null }),
  info({ figure: 'calls', value: N, unit: 'count', baseline: null, baseline_value: null })
], { calls: N, warmup: WARM, wisp_failed: wispFailed, baseline_failed: bareFailed })
process.exit(0)
