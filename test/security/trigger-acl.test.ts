import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway } from '../../runtime/gateway/main.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { hashPassword } from '../../runtime/shared/password.js'
import type { Completion } from '../../runtime/leader/leader.js'
import { freePort } from '../helpers/ports.js'
import { TestClient } from '../helpers/mqtt.js'
import { inProcessBoard } from '../helpers/board.js'
import { until } from '../helpers/leader-rig.js'

t.test('with accounts: the leader hears user topics; who may publish there follows the roles; dead letters are admin-only', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-trig-acl-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const gw = await startGateway({
    dataDir: dir, mqttPort: await freePort(), mqttHost: '127.0.0.1', httpPort: null, log: silentLogger,
    users: {
      ops: { password_hash: await hashPassword('o-secret'), role: 'admin' },
      alice: { password_hash: await hashPassword('a-secret'), role: 'client' },
      b1: { password_hash: await hashPassword('board'), role: 'board' }
    }
  })
  t.teardown(gw.close)
  const done: Completion[] = []
  gw.leader.onCompletion((c) => done.push(c))
  const code = 'export async function handler (e) { if (e.payload === "fail") throw new Error("failed on " + e.topic); return e.payload }'
  await publishDeployment(gw.transport, gw.topics, buildManifest('thermo', code, { triggers: { on: ['sensors/+/temp'] } }), code)
  await until(() => gw.registry.get('thermo') !== undefined, 5000, 'the deploy')
  await gw.triggers.settled()
  const board = await inProcessBoard({ id: 'b1', broker: gw.url, extra: { username: 'b1', password: 'board' } })
  t.teardown(board.cleanup)
  await until(() => gw.leader.cluster.routable('b1'), 10_000, 'b1 to join')

  const ops = await TestClient.connect(gw.url, { username: 'ops', password: 'o-secret', clientId: 'ops-1' })
  t.teardown(() => ops.close())
  await ops.sub('wisp/dead/+')
  await ops.pub('sensors/kitchen/temp', '21')
  await until(() => done.some((c) => c.fn === 'thermo'), 10_000, 'the admin\'s reading to run thermo')
  t.match(done[0]?.reply, { ok: true, result: 21 })
  await ops.pub('sensors/kitchen/temp', 'fail')
  await ops.waitFor((r) => r.length > 0, 10_000)
  t.match(ops.received[0]?.json, { fn: 'thermo', topic: 'sensors/kitchen/temp', error: { code: 'WISP_FUNCTION_ERROR' } }, 'an admin reads the dead letters')

  const alice = await TestClient.connect(gw.url, { username: 'alice', password: 'a-secret', clientId: 'alice-1' })
  t.teardown(() => alice.close())
  await t.rejects(alice.client.subscribeAsync('wisp/dead/+', { qos: 1 }), /Subscribe error/, 'a client may not read dead letters (SUBACK 0x80)')
  // The client role publishes only invokes (broker-acl.ts): a sensor reading from it closes its connection.
  const closed = new Promise<void>((resolve) => alice.client.once('close', () => resolve()))
  alice.client.publish('sensors/hall/temp', '5', { qos: 0 })
  await closed
  await ops.pub('sensors/marker/temp', '0')
  await until(() => done.some((c) => c.reply.ok && c.reply.result === 0), 10_000, 'the marker reading')
  t.notOk(done.some((c) => c.reply.ok && c.reply.result === 5), 'the client\'s reading ran nothing')
})
