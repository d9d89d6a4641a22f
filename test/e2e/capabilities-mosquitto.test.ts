import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway } from '../../runtime/gateway/main.js'
import { mosquittoAcl } from '../../runtime/leader/mosquitto-acl.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { inProcessBoard } from '../helpers/board.js'
import { clientsMissing, hasBinary, mosquittoMissing, startMosquitto } from '../helpers/mosquitto.js'
import { TestClient } from '../helpers/mqtt.js'
import { until } from '../helpers/cap-rig.js'

const skip = mosquittoMissing() || clientsMissing() || (hasBinary('mosquitto_passwd') ? false : 'mosquitto_passwd is not installed (apt-get install mosquitto)')
const USERS = { admin: 'admin', b1: 'board', alice: 'client' } as const
const pw = (u: string): string => `pw-${u}-0123456789`

// On an external Mosquitto with accounts and the ACL `wisp users mosquitto-acl` prints, a board
// account may ask for its handlers' capabilities and hear the answers, and the leader (admin)
// serves them: `mosquitto_pub` on a sensor topic → handler → context.publish → a subscriber.
t.test('capabilities on Mosquitto with accounts: trigger, publish, KV', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-caps-mosq-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const passwd = join(dir, 'passwd')
  writeFileSync(passwd, '', { mode: 0o600 })
  for (const u of Object.keys(USERS)) spawnSync('mosquitto_passwd', ['-b', passwd, u, pw(u)])
  const acl = mosquittoAcl(Object.fromEntries(Object.entries(USERS).map(([u, role]) => [u, { role }])))
  const mosq = await startMosquitto({ files: { passwd: readFileSync(passwd, 'utf8'), acl }, conf: ['allow_anonymous false', 'password_file {dir}/passwd', 'acl_file {dir}/acl'] })
  t.teardown(mosq.stop)
  const gw = await startGateway({ dataDir: dir, mqttPort: 0, httpPort: null, brokerUrl: mosq.url, brokerUsername: 'admin', brokerPassword: pw('admin'), log: silentLogger })
  t.teardown(gw.close)
  const code = `export async function handler (event, context) {
    if (event.read === true) return await context.kv.get('count')
    await context.publish('actuators/fan', { on: event.payload.c > 25 }, { qos: 1 })
    const n = ((await context.kv.get('count')) ?? 0) + 1
    await context.kv.put('count', n)
    return n
  }`
  const m = buildManifest('fan', code, { triggers: { on: ['sensors/+/temp'] }, publishes: ['actuators/#'] })
  await publishDeployment(gw.transport, new Topics(), m, code)
  const board = await inProcessBoard({ id: 'b1', broker: mosq.url, extra: { username: 'b1', password: pw('b1') } })
  t.teardown(board.cleanup)
  await until('b1 joined', () => gw.leader.cluster.view().boards.some((b) => b.id === 'b1' && b.routable), 15_000)
  await until('trigger subscribed', () => gw.triggers.filters.includes('sensors/+/temp'), 10_000)
  const fanSide = await TestClient.connect(mosq.url, { username: 'admin', password: pw('admin'), clientId: 'admin-fan' })
  t.teardown(() => fanSide.close())
  await fanSide.sub('actuators/#')
  const pub = spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mosq.port), '-u', 'admin', '-P', pw('admin'), '-q', '1', '-t', 'sensors/kitchen/temp', '-m', '{"c": 30}'], { encoding: 'utf8' })
  t.equal(pub.status, 0, pub.stderr)
  await fanSide.waitFor((r) => r.length >= 1, 15_000)
  t.same(fanSide.received[0]?.json, { on: true })
  await until('run finished', () => gw.leader.inflightCount() === 0, 10_000)
  const alice = await TestClient.connect(mosq.url, { username: 'alice', password: pw('alice'), clientId: 'alice-1' })
  t.teardown(() => alice.close())
  await alice.sub('wisp/result/alice/#')
  await alice.pub('wisp/invoke/fan/alice/r1', JSON.stringify({ read: true }))
  await alice.waitFor((r) => r.length >= 1, 15_000)
  t.match(alice.received[0]?.json, { ok: true, result: 1 }, 'the count, through the board account\'s cap topics')
})
