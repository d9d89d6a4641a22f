import t from 'tap'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCluster } from '../../runtime/cluster/embedded-cluster.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { freePort } from '../helpers/ports.js'
import { runWisp as wisp } from '../helpers/wisp-cli.js'


t.test('with broker accounts: admins deploy (recorded as who), clients and boards are refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-lifecycle-acc-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const fns = join(dir, 'fns')
  mkdirSync(fns)
  const file = join(dir, 'f.js')
  writeFileSync(file, 'export async function handler () { return 1 }\n')
  const mqttPort = await freePort()
  const cluster = await startCluster({ boards: 1, mqttPort, httpPort: await freePort(), dataDir: join(dir, '.wisp'), functionsDir: fns, accounts: true, log: silentLogger })
  t.teardown(cluster.close)
  const url = cluster.gateway.url
  const admin = ['--broker', url, '--username', 'admin', '--password', cluster.accounts?.admin ?? '']
  const me = ['--broker', url, '--username', 'me', '--password', cluster.accounts?.me ?? '', '--ack-timeout', '2s']

  const d = await wisp(['deploy', 'f', file, ...admin])
  t.equal(d.code, 0, d.err)
  const desc = await wisp(['describe', 'f', '--json', ...admin])
  t.equal(desc.code, 0, desc.err)
  t.same((JSON.parse(desc.out) as { versions: Array<{ by: string }> }).versions.map((v) => v.by), ['admin'], 'who = the MQTT username')

  for (const args of [['ls'], ['rollback', 'f'], ['rm', 'f'], ['deploy', 'f', file]]) {
    const r = await wisp([...args, ...me])
    t.not(r.code, 0, `wisp ${args[0] ?? ''} is refused for a client account`)
    t.match(r.err, /WISP_UNAUTHORIZED/, `wisp ${args[0] ?? ''} says why`)
  }
  const board = JSON.parse(readFileSync(join(dir, '.wisp', 'boards', 'b1', 'board.json'), 'utf8')) as { password: string }
  const asBoard = await wisp(['rollback', 'f', '--broker', url, '--username', 'b1', '--password', board.password, '--ack-timeout', '2s'])
  t.not(asBoard.code, 0, 'a board account is refused too')
  t.match(asBoard.err, /WISP_UNAUTHORIZED/)
  t.ok(cluster.gateway.registry.get('f') !== undefined, 'f is still deployed')
  t.equal(cluster.gateway.registry.history('f')?.versions.length, 1, 'and still at one version')
})
