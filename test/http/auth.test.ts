import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway } from '../../runtime/gateway/main.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { hashPassword } from '../../runtime/shared/password.js'
import { inProcessBoard } from '../helpers/board.js'
import { until } from '../helpers/leader-rig.js'
import { TestClient } from '../helpers/mqtt.js'
import { freePort } from '../helpers/ports.js'
import { httpRequest } from '../helpers/http.js'

const basic = (user: string, password: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` })

t.test('with accounts, HTTP invokes take HTTP Basic credentials checked against the same scrypt hashes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-http-auth-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const gw = await startGateway({
    dataDir: dir, mqttPort: await freePort(), httpPort: null, invokePort: 0, log: silentLogger,
    users: { alice: { password_hash: await hashPassword('a-secret'), role: 'client' }, root: { password_hash: await hashPassword('r-secret'), role: 'admin' }, b1: { password_hash: await hashPassword('board'), role: 'board' } }
  })
  t.teardown(gw.close)
  const code = 'export async function handler () { return "hi" }'
  await publishDeployment(gw.transport, gw.topics, buildManifest('hello', code), code)
  await until(() => gw.registry.get('hello') !== undefined, 5000, 'the deploy')
  const board = await inProcessBoard({ id: 'b1', broker: gw.url, extra: { username: 'b1', password: 'board' } })
  t.teardown(board.cleanup)
  await until(() => gw.leader.cluster.routable('b1'), 15_000, 'b1 to join')
  const url = `${gw.invokeUrl as string}function/hello`

  const none = await httpRequest(url)
  t.equal(none.status, 401, 'no credentials: 401')
  t.equal(none.headers['www-authenticate'], 'Basic realm="wisp", charset="UTF-8"')
  t.match(none.json, { error: { code: 'WISP_UNAUTHORIZED' } })
  for (const [who, headers] of [['a wrong password', basic('alice', 'nope')], ['an unknown account', basic('mallory', 'a-secret')], ['a malformed header', { authorization: 'Basic !!!' }], ['another scheme', { authorization: 'Bearer a-secret' }]] as const) {
    const r = await httpRequest(url, { headers })
    t.equal(r.status, 401, `${who}: 401`)
  }
  const asBoard = await httpRequest(url, { headers: basic('b1', 'board') })
  t.equal(asBoard.status, 403, 'a board account may not invoke')
  t.match(asBoard.json, { error: { code: 'WISP_UNAUTHORIZED', message: /role board/ } })
  for (const [user, password] of [['alice', 'a-secret'], ['root', 'r-secret']]) {
    const r = await httpRequest(url, { headers: basic(user as string, password as string) })
    t.equal(r.status, 200, `${user as string} may invoke`)
    t.same(r.json, 'hi')
    t.equal(r.headers['x-wisp-board'], 'b1')
  }

  // An async invoke's result is alice's, on her own result topic, readable by her over MQTT.
  const mqttAlice = await TestClient.connect(gw.url, { username: 'alice', password: 'a-secret', clientId: 'alice-sub' })
  t.teardown(() => mqttAlice.close())
  await mqttAlice.sub('wisp/result/alice/#')
  const later = await httpRequest(`${gw.invokeUrl as string}async-function/hello`, { headers: { ...basic('alice', 'a-secret'), 'x-wisp-request-id': 'a-1' } })
  t.equal(later.status, 202)
  const got = await mqttAlice.waitFor((m) => m.length > 0, 10_000)
  t.equal(got[0]?.topic, 'wisp/result/alice/hello/a-1')
  t.match(got[0]?.json, { ok: true, result: 'hi' })
})
