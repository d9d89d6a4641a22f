import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway } from '../../runtime/gateway/main.js'
import { startClusteredGateway } from '../../runtime/gateway/clustered.js'
import { isLoopbackHost } from '../../runtime/shared/bind.js'
import { GatewayConfigSchema } from '../../runtime/leader/gateway-config.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { hashPassword } from '../../runtime/shared/password.js'
import { freePort } from '../helpers/ports.js'

const tmp = (t: { teardown: (fn: () => void) => void }): string => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-bind-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('loopback names', async (t) => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST']) t.ok(isLoopbackHost(h), h)
  for (const h of ['0.0.0.0', '::', '', '192.168.1.10', '10.0.0.1', 'gateway.lan', '::ffff:10.0.0.1']) t.notOk(isLoopbackHost(h), h)
})

t.test('the gateway config defaults to loopback for the broker and the page', async (t) => {
  const c = GatewayConfigSchema.parse({})
  t.equal(c.mqtt_host, '127.0.0.1')
  t.equal(c.http_host, '127.0.0.1')
})

t.test('without accounts the broker and the page listen on 127.0.0.1 only', async (t) => {
  const gw = await startGateway({ dataDir: tmp(t), mqttPort: await freePort(), httpPort: 0, log: silentLogger })
  t.teardown(gw.close)
  t.equal(gw.openMode, true)
  t.equal(gw.broker?.address.address, '127.0.0.1', 'the MQTT listener is bound to loopback')
  t.match(gw.url, /^mqtt:\/\/127\.0\.0\.1:\d+$/)
  t.match(gw.statusUrl, /^http:\/\/127\.0\.0\.1:\d+\/$/)
})

t.test('without accounts a non-loopback bind is refused with a clear WISP_BAD_CONFIG', async (t) => {
  for (const mqttHost of ['0.0.0.0', '::', '192.168.1.10']) {
    await t.rejects(startGateway({ dataDir: tmp(t), mqttPort: await freePort(), mqttHost, httpPort: null, log: silentLogger }),
      { code: 'WISP_BAD_CONFIG', message: /refusing to serve MQTT on .* without broker accounts.*wisp users add/ }, `MQTT on ${mqttHost}`)
  }
  await t.rejects(startGateway({ dataDir: tmp(t), mqttPort: await freePort(), httpPort: 0, httpHost: '0.0.0.0', log: silentLogger }),
    { code: 'WISP_BAD_CONFIG', message: /refusing to serve the cluster page on 0\.0\.0\.0/ }, 'the cluster page on 0.0.0.0')
  // An external broker's accounts do not cover the gateway's own page (a port where nothing
  // listens: had the check been skipped, the error would be about reaching the broker).
  await t.rejects(startGateway({ dataDir: tmp(t), mqttPort: await freePort(), brokerUrl: `mqtt://127.0.0.1:${await freePort()}`, httpPort: 0, httpHost: '0.0.0.0', log: silentLogger }),
    { code: 'WISP_BAD_CONFIG', message: /refusing to serve the cluster page on 0\.0\.0\.0/ }, 'the cluster page on 0.0.0.0 beside an external broker')
})
t.test('with accounts the broker may listen on every interface', async (t) => {
  const users = { admin: { password_hash: await hashPassword('s3cret-admin'), role: 'admin' as const } }
  const gw = await startGateway({ dataDir: tmp(t), mqttPort: await freePort(), mqttHost: '0.0.0.0', httpPort: null, users, log: silentLogger })
  t.teardown(gw.close)
  t.equal(gw.openMode, false)
  t.equal(gw.broker?.address.address, '0.0.0.0')
})

t.test('each gateway of a cluster (Redis) refuses the same open-mode listeners before it binds or dials Redis', async (t) => {
  // A port where nothing listens: had the checks been skipped, the error would be "cannot reach the cluster's Redis".
  const cluster = { redis: `redis://127.0.0.1:${await freePort()}` }
  const base = { dataDir: tmp(t), mqttPort: await freePort(), log: silentLogger, cluster }
  const cases = [
    [{ httpPort: null, mqttHost: '0.0.0.0' }, /refusing to serve MQTT on 0\.0\.0\.0/, 'MQTT'],
    [{ httpPort: null, tls: { cert: 'c.pem', key: 'k.pem', host: '0.0.0.0' } }, /refusing to serve MQTT over TLS on 0\.0\.0\.0.*tls\.host/, 'mqtts'],
    [{ httpPort: 0, httpHost: '0.0.0.0' }, /refusing to serve the cluster page on 0\.0\.0\.0/, 'the cluster page'],
    [{ httpPort: null, invokePort: 0, invokeHost: '0.0.0.0' }, /refusing to serve HTTP invokes on 0\.0\.0\.0/, 'HTTP invokes'],
    [{ httpPort: null, users: { admin: { password_hash: 'a'.repeat(64), role: 'admin' as const } } }, /password_hash is not a salted scrypt hash/, 'an unsalted hash']
  ] as const
  for (const [o, message, what] of cases) {
    await t.rejects(startClusteredGateway({ ...base, ...o }), { code: 'WISP_BAD_CONFIG', message }, what)
  }
})
