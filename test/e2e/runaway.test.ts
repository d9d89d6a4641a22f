import t from 'tap'
import { Topics } from '../../runtime/protocol/topics.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { MqttTransport } from '../../runtime/transport/mqtt-transport.js'
import { testCluster } from '../helpers/cluster.js'
import { TestClient } from '../helpers/mqtt.js'

interface R { ok: boolean, error?: { code: string, message: string }, receipt?: { board?: string } }
interface State { functions?: Record<string, { running: number }> }

// The reproduction, on a real board agent over MQTT: one board, so `hello` must run
// where the runaway ran.
const SPINNER = 'export async function handler () { await new Promise((r) => setTimeout(r, 10)); for (;;) {} }\n'
const c = await testCluster({ boards: 1, leader: { waitMs: 2000 } })
t.teardown(c.close)
const topics = new Topics()
const deployer = await MqttTransport.open({ url: c.url })
await publishDeployment(deployer, topics, buildManifest('spinner', SPINNER, { timeout_ms: 1000 }), SPINNER)
await deployer.close()

const client = await TestClient.connect(c.url)
t.teardown(() => client.close())
await client.sub('wisp/result/t/#')
await client.sub(topics.boardFilter('state'))
let n = 0
const call = async (fn: string, payload: string): Promise<{ r: R, ms: number }> => {
  const req = `r${++n}`
  const topic = `wisp/result/t/${fn}/${req}`
  const t0 = performance.now()
  await client.pub(`wisp/invoke/${fn}/t/${req}`, payload)
  await client.waitFor(() => client.on(topic).length > 0, 15_000)
  return { r: client.on(topic)[0]?.json as R, ms: performance.now() - t0 }
}

t.test('a function spinning after a host timer times out and the board keeps serving', async (tt) => {
  const { r, ms } = await call('spinner', '{}')
  tt.equal(r.ok, false)
  tt.equal(r.error?.code, 'WISP_TIMEOUT', r.error?.message ?? '')
  tt.ok(ms < 1000 + 1500, `the caller hears in ${Math.round(ms)} ms (timeout 1000 ms)`)
  const hello = await call('hello', '{"name":"after"}')
  tt.equal(hello.r.ok, true, `hello answers next (${hello.r.error?.message ?? 'ok'})`)
  tt.ok(hello.ms < 3000, `promptly (${Math.round(hello.ms)} ms)`)
  // The board's gossip shows no run of the spinner still going.
  const states = topics.board('b1', 'state')
  const seen = client.on(states).length
  await client.waitFor(() => client.on(states).length > seen + 1, 10_000)
  const last = client.on(states).at(-1)?.json as State
  tt.equal(last.functions?.spinner?.running ?? 0, 0, 'no stuck running slot')
})
