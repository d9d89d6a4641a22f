import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { startGateway } from '../../runtime/gateway/main.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { freePort } from '../helpers/ports.js'
import { TestClient } from '../helpers/mqtt.js'
import { inProcessBoard } from '../helpers/board.js'
import { hashPassword } from '../../runtime/shared/password.js'


t.test('with accounts, <client> must be the username and replies stay private', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-auth-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const gw = await startGateway({
    dataDir: dir, mqttPort: await freePort(), mqttHost: '127.0.0.1', httpPort: null, log: silentLogger,
    users: { alice: { password_hash: await hashPassword('a-secret'), role: 'client' }, bob: { password_hash: await hashPassword('b-secret'), role: 'client' }, b1: { password_hash: await hashPassword('board'), role: 'board' } }
  })
  t.teardown(gw.close)
  const code = 'export async function handler () { return "private" }'
  await publishDeployment(gw.transport, new Topics(), buildManifest('secret', code), code)
  const board = await inProcessBoard({ id: 'b1', broker: gw.url, extra: { username: 'b1', password: 'board' } })
  t.teardown(board.cleanup)
  for (let i = 0; i < 100 && !gw.leader.cluster.view().boards.some((b) => b.routable); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  t.ok(gw.leader.cluster.view().boards.some((b) => b.routable), 'the board authenticated and joined')

  await t.rejects(mqtt.connectAsync(gw.url, { username: 'alice', password: 'wrong', reconnectPeriod: 0 }), /Bad username or password|bad user name or password/i, 'a bad password is refused (CONNACK 4)')
  await t.rejects(mqtt.connectAsync(gw.url, { reconnectPeriod: 0 }), /Not authorized|Bad username|bad user name/i, 'anonymous is refused')

  const alice = await TestClient.connect(gw.url, { username: 'alice', password: 'a-secret', clientId: 'alice-1' })
  t.teardown(() => alice.close())
  await t.rejects(alice.client.subscribeAsync('wisp/result/bob/#', { qos: 1 }), /Subscribe error/, 'alice may not read bob\'s replies (SUBACK 0x80)')
  await alice.sub('wisp/result/alice/#')
  await alice.pub('wisp/invoke/secret/alice/r1', '{}')
  await alice.waitFor((r) => r.length > 0, 10_000)
  t.match(alice.received[0]?.json, { ok: true, result: 'private' })

  // Publishing an invoke in bob's name closes alice's connection: no reply is ever made for bob.
  const bob = await TestClient.connect(gw.url, { username: 'bob', password: 'b-secret', clientId: 'bob' })
  t.teardown(() => bob.close())
  await bob.sub('wisp/result/bob/#')
  const closed = new Promise<void>((resolve) => alice.client.once('close', () => resolve()))
  alice.client.publish('wisp/invoke/secret/bob/r2', '{}', { qos: 0 })
  await closed
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.equal(bob.received.length, 0, 'no reply was produced for a forged client id')
})
