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
import { hasBinary, mosquittoMissing, startMosquitto } from '../helpers/mosquitto.js'
import { ACCOUNTS, HELLO, passwordOf, runAclMatrix } from '../helpers/acl-matrix.js'

const skip = mosquittoMissing() || (hasBinary('mosquitto_passwd') ? false : 'mosquitto_passwd is not installed (apt-get install mosquitto)')

/** A Mosquitto password file made by mosquitto_passwd itself. */
const passwordFile = (dir: string): string => {
  const file = join(dir, 'passwd')
  writeFileSync(file, '', { mode: 0o600 })
  for (const u of Object.keys(ACCOUNTS)) {
    const r = spawnSync('mosquitto_passwd', ['-b', file, u, passwordOf(u)], { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr}`)
  }
  return readFileSync(file, 'utf8')
}

// The matrix opens about a hundred authenticated connections and runs real invocations.
t.setTimeout(300_000)

t.test('the same ACL matrix on Mosquitto, with its password file and the ACL file `wisp users mosquitto-acl` prints', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-acl-mosq-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const acl = mosquittoAcl(Object.fromEntries(Object.entries(ACCOUNTS).map(([u, role]) => [u, { role }])))
  t.match(acl, /user alice\ntopic write wisp\/invoke\/\+\ntopic write wisp\/invoke\/\+\/alice\/\+\ntopic read wisp\/result\/alice\/#/)
  const mosq = await startMosquitto({
    files: { passwd: passwordFile(dir), acl },
    conf: ['allow_anonymous false', 'password_file {dir}/passwd', 'acl_file {dir}/acl']
  })
  t.teardown(mosq.stop)
  const gw = await startGateway({ dataDir: dir, mqttPort: 0, httpPort: null, brokerUrl: mosq.url, brokerUsername: 'admin', brokerPassword: passwordOf('admin'), log: silentLogger })
  t.teardown(gw.close)
  const manifest = buildManifest('hello', HELLO)
  await publishDeployment(gw.transport, new Topics(), manifest, HELLO)
  const board = await inProcessBoard({ id: 'b1', broker: mosq.url, extra: { username: 'b1', password: passwordOf('b1') } })
  t.teardown(board.cleanup)
  for (let i = 0; i < 200 && !gw.leader.cluster.view().boards.some((b) => b.routable); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  t.ok(gw.leader.cluster.view().boards.some((b) => b.id === 'b1' && b.routable), 'the board authenticated and joined')
  await runAclMatrix(t, { url: mosq.url, gw, helloSha: manifest.sha256, clientIdsTied: false, codeByExactHashOnly: false, mqtt5: true, retainRestricted: false })
})
