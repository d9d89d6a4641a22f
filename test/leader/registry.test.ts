import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway } from '../../runtime/gateway/main.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { MqttTransport } from '../../runtime/transport/mqtt-transport.js'
import { freePort } from '../helpers/ports.js'
import { TestClient } from '../helpers/mqtt.js'

t.test('deployments survive a gateway restart and are republished retained', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-reg-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const code = 'export async function handler () { return 42 }'
  const manifest = buildManifest('answer', code, { timeout_ms: 1234 })

  const g1 = await startGateway({ dataDir: dir, mqttPort: await freePort(), mqttHost: '127.0.0.1', log: silentLogger })
  const d = await MqttTransport.open({ url: g1.url })
  await publishDeployment(d, new Topics(), manifest, code)
  await d.close()
  for (let i = 0; i < 50 && g1.registry.get('answer') === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(g1.registry.get('answer')?.timeout_ms, 1234)
  await g1.close()

  // A new broker (nothing retained) on another port, the same data folder.
  const g2 = await startGateway({ dataDir: dir, mqttPort: await freePort(), mqttHost: '127.0.0.1', log: silentLogger })
  t.teardown(g2.close)
  t.equal(g2.registry.get('answer')?.sha256, manifest.sha256)
  const c = await TestClient.connect(g2.url)
  t.teardown(() => c.close())
  await c.sub('wisp/functions/answer')
  await c.sub(`wisp/code/${manifest.sha256}`)
  await c.waitFor((r) => r.length >= 2, 5000)
  t.match(c.on('wisp/functions/answer')[0]?.json, { name: 'answer', sha256: manifest.sha256, timeout_ms: 1234 })
  t.equal(c.on(`wisp/code/${manifest.sha256}`)[0]?.payload.toString(), code)

  // An empty retained message deletes the function.
  await c.pub('wisp/functions/answer', '', { retain: true })
  for (let i = 0; i < 50 && g2.registry.get('answer') !== undefined; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(g2.registry.get('answer'), undefined)
})

t.test('the version history survives a gateway restart, and a rollback after it republishes the old code', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-reg-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const code = (n: number): string => `export async function handler () { return ${n} }`
  const g1 = await startGateway({ dataDir: dir, mqttPort: await freePort(), mqttHost: '127.0.0.1', log: silentLogger })
  const d = await MqttTransport.open({ url: g1.url })
  for (const n of [1, 2]) {
    const m = buildManifest('f', code(n))
    await d.publish(`wisp/code/${m.sha256}`, code(n), { retain: true })
    g1.registry.deploy(m, 'ops')
    for (let i = 0; i < 250 && await g1.registry.code(m.sha256) === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  }
  await d.close()
  await g1.registry.settled()
  t.same(g1.registry.history('f')?.versions.map((v) => [v.version, v.by]), [[1, 'ops'], [2, 'ops']])
  await g1.close()

  const g2 = await startGateway({ dataDir: dir, mqttPort: await freePort(), mqttHost: '127.0.0.1', log: silentLogger })
  t.teardown(g2.close)
  t.equal(g2.registry.history('f')?.current, 2, 'history restored')
  t.equal(g2.registry.get('f')?.sha256, buildManifest('f', code(2)).sha256)
  const h = g2.registry.rollback('f')
  t.equal(h.current, 1)
  t.equal(g2.registry.get('f')?.sha256, buildManifest('f', code(1)).sha256, 'v1 is current at once')
  const c = await TestClient.connect(g2.url)
  t.teardown(() => c.close())
  const sha1 = buildManifest('f', code(1)).sha256
  await c.sub(`wisp/code/${sha1}`)
  await c.sub('wisp/functions/f')
  const isV1 = (r: { json: unknown }): boolean => (r.json as { sha256?: string } | null)?.sha256 === sha1
  await c.waitFor(() => c.on(`wisp/code/${sha1}`).length > 0 && c.on('wisp/functions/f').some(isV1), 5000)
  t.equal(c.on(`wisp/code/${sha1}`)[0]?.payload.toString(), code(1), 'boards find v1\'s code retained')
  t.equal(g2.registry.history('f')?.versions.length, 2, 'a rollback is no new version')
  t.throws(() => g2.registry.rollback('f'), { code: 'WISP_BAD_CONFIG', message: /no version older than 1/ })
})
