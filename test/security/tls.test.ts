import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { startGateway } from '../../runtime/gateway/main.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { hashPassword } from '../../runtime/shared/password.js'
import { invokeOnce } from '../../runtime/cli/commands/invoke.js'
import { MqttTransport } from '../../runtime/transport/mqtt-transport.js'
import { freePort } from '../helpers/ports.js'
import { inProcessBoard } from '../helpers/board.js'
import { hasBinary } from '../helpers/mosquitto.js'

const skip = hasBinary('openssl') ? false : 'openssl is not installed'

/** A throw-away CA and a server certificate it signed for 127.0.0.1 / localhost. */
const makeCerts = (dir: string): { ca: string, cert: string, key: string, caFile: string } => {
  const ssl = (...args: string[]): void => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`openssl ${args[0] ?? ''} failed: ${r.stderr}`)
  }
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=wisp test CA')
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost')
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'san.ext')
  return { ca: readFileSync(join(dir, 'ca.pem'), 'utf8'), cert: readFileSync(join(dir, 'server.pem'), 'utf8'), key: readFileSync(join(dir, 'server.key'), 'utf8'), caFile: join(dir, 'ca.pem') }
}

t.test('mqtts: boards and the CLI reach the embedded broker over TLS with the cluster\'s CA', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-tls-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const pki = makeCerts(dir)
  const users = {
    admin: { password_hash: await hashPassword('admin-secret-1'), role: 'admin' as const },
    alice: { password_hash: await hashPassword('alice-secret-1'), role: 'client' as const },
    b1: { password_hash: await hashPassword('board-secret-1'), role: 'board' as const }
  }
  const gw = await startGateway({ dataDir: dir, mqttPort: await freePort(), httpPort: null, users, tls: { cert: pki.cert, key: pki.key, port: 0 }, log: silentLogger })
  t.teardown(gw.close)
  const tlsUrl = gw.broker?.tls?.url ?? ''
  t.match(tlsUrl, /^mqtts:\/\/127\.0\.0\.1:\d+$/)
  const code = 'export async function handler () { return "over tls" }'
  await publishDeployment(gw.transport, new Topics(), buildManifest('secure', code), code)

  const board = await inProcessBoard({ id: 'b1', broker: tlsUrl, extra: { username: 'b1', password: 'board-secret-1', ca_file: pki.caFile } })
  t.teardown(board.cleanup)
  for (let i = 0; i < 200 && !gw.leader.cluster.view().boards.some((b) => b.routable); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  t.ok(gw.leader.cluster.view().boards.some((b) => b.id === 'b1' && b.routable), 'a board joined over mqtts with ca_file')

  const reply = await invokeOnce({ broker: tlsUrl, fn: 'secure', payload: '{}', timeoutMs: 20_000, credentials: { username: 'alice', password: 'alice-secret-1', ca: pki.ca } })
  t.match(reply, { ok: true, result: 'over tls' }, 'wisp invoke over mqtts with --ca')

  await t.rejects(mqtt.connectAsync(tlsUrl, { reconnectPeriod: 0, connectTimeout: 5000, username: 'alice', password: 'alice-secret-1', clientId: 'alice-x' }),
    /self[- ]signed|unable to get local issuer|certificate/i, 'without the CA the certificate is not trusted')
  await t.rejects(MqttTransport.open({ url: tlsUrl.replace('mqtts:', 'mqtt:'), protocolVersion: 4, connectTimeoutMs: 3000, username: 'alice', password: 'alice-secret-1', clientId: 'alice-y' }),
    { code: 'WISP_BAD_CONFIG' }, 'plain MQTT on the TLS port gets nowhere')
  t.ok(gw.leader.cluster.view().boards.some((b) => b.id === 'b1' && b.routable), 'the broker is still up after the failed handshakes')
})

t.test('an unusable certificate is a clear WISP_BAD_CONFIG', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-tls-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const users = { admin: { password_hash: await hashPassword('admin-secret-1'), role: 'admin' as const } }
  await t.rejects(startGateway({ dataDir: dir, mqttPort: await freePort(), httpPort: null, users, tls: { cert: 'not a pem', key: 'nor this', port: 0 }, log: silentLogger }),
    { code: 'WISP_BAD_CONFIG', message: /TLS certificate or key is not usable/ })
})
