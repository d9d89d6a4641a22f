import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { startCluster } from '../../runtime/cluster/embedded-cluster.js'
import { invokeOnce } from '../../runtime/cli/commands/invoke.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { freePort } from '../helpers/ports.js'

t.test('wisp start --accounts mints a credential per board; its boards join and only account holders get in', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-start-acc-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const mqttPort = await freePort()
  const cluster = await startCluster({ boards: 1, mqttPort, httpPort: 21000 + (mqttPort % 20000), dataDir: join(dir, '.wisp'), accounts: true, log: silentLogger })
  t.teardown(cluster.close)
  t.equal(cluster.gateway.openMode, false)
  const acc = cluster.accounts
  t.ok(acc !== null && acc.admin.length >= 20 && acc.me.length >= 20, 'fresh passwords for admin and me')
  const boardFile = join(dir, '.wisp', 'boards', 'b1', 'board.json')
  const cfg = JSON.parse(readFileSync(boardFile, 'utf8')) as { username?: string, password?: string }
  t.equal(cfg.username, 'b1', 'the board config names its own account')
  t.ok((cfg.password ?? '').length >= 20, 'with its own password')
  t.equal(statSync(boardFile).mode & 0o077, 0, 'readable by its owner only')
  t.ok(cluster.gateway.leader.cluster.view().boards.some((b) => b.id === 'b1'), 'the board joined with its credential')

  await t.rejects(mqtt.connectAsync(cluster.gateway.url, { reconnectPeriod: 0, clientId: 'anon' }), /Not authorized|Bad username|bad user name/i, 'anonymous is refused')
  const reply = await invokeOnce({ broker: cluster.gateway.url, fn: 'hello', payload: '{"name":"edge"}', timeoutMs: 30_000, credentials: { username: 'me', password: acc?.me ?? '' } })
  t.match(reply, { ok: true, result: { greeting: 'hello, edge' } }, 'the client account "me" invokes')
})
