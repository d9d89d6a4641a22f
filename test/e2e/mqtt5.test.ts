import t from 'tap'
import { spawn } from 'node:child_process'
import { Topics } from '../../runtime/protocol/topics.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { clientsMissing, mosquittoMissing } from '../helpers/mosquitto.js'
import { TestClient } from '../helpers/mqtt.js'
import { gatewayOnMosquitto } from '../helpers/mosquitto-gateway.js'

const skip = mosquittoMissing() || clientsMissing()

t.test('with Mosquitto as the broker, MQTT 5 Response Topic and Correlation Data are honoured', { skip }, async (t) => {
  const { gw, url, port } = await gatewayOnMosquitto(t)
  t.equal(gw.transport.protocolVersion, 5, 'the leader speaks MQTT 5 to Mosquitto')
  const code = 'export async function handler (e) { return { echo: e } }'
  await publishDeployment(gw.transport, new Topics(), buildManifest('echo', code), code)

  // mosquitto_rr: publishes with a Response Topic and waits for the reply on it.
  const out = await new Promise<string>((resolve) => {
    const p = spawn('mosquitto_rr', ['-V', 'mqttv5', '-h', '127.0.0.1', '-p', String(port), '-t', 'wisp/invoke/echo', '-e', 'replies/rr-1', '-m', '{"x":1}', '-W', '10'])
    let s = ''
    p.stdout.on('data', (d: Buffer) => { s += d.toString() })
    p.on('exit', () => resolve(s))
  })
  t.match(JSON.parse(out), { ok: true, result: { echo: { x: 1 } }, receipt: { board: 'm1' } })

  // Correlation Data comes back as it was sent.
  const c = await TestClient.connect(url, { protocolVersion: 5 })
  t.teardown(() => c.close())
  await c.sub('wisp/result/c5/#')
  const got = new Promise<Buffer | undefined>((resolve) => c.client.once('message', (_t, _p, packet) => resolve(packet.properties?.correlationData)))
  await c.pub('wisp/invoke/echo/c5/q1', '{}', { properties: { responseTopic: 'wisp/result/c5/mine', correlationData: Buffer.from('corr-42') } })
  t.equal((await got)?.toString(), 'corr-42')

  // WISP_UNAUTHORIZED: a Response Topic inside another client's result space.
  await c.pub('wisp/invoke/echo/c5/q2', '{}', { properties: { responseTopic: 'wisp/result/someone-else/x' } })
  await c.waitFor((r) => r.some((m) => m.topic === 'wisp/result/c5/echo/q2'), 10_000)
  t.match(c.on('wisp/result/c5/echo/q2')[0]?.json, { ok: false, error: { code: 'WISP_UNAUTHORIZED', message: /not under wisp\/result\/c5\// } })
})
