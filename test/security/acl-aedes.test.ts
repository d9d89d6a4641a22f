import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway } from '../../runtime/gateway/main.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { hashPassword } from '../../runtime/shared/password.js'
import type { BrokerUser } from '../../runtime/leader/broker-auth.js'
import { freePort } from '../helpers/ports.js'
import { inProcessBoard } from '../helpers/board.js'
import { ACCOUNTS, HELLO, passwordOf, runAclMatrix } from '../helpers/acl-matrix.js'

// Every connection costs one scrypt check (~0.1 s here); the matrix makes about a hundred.
t.setTimeout(300_000)

t.test('ACL matrix on the embedded broker (aedes): no forbidden publish or subscription takes effect', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-acl-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const users: Record<string, BrokerUser> = {}
  for (const [u, role] of Object.entries(ACCOUNTS)) users[u] = { password_hash: await hashPassword(passwordOf(u)), role }
  const gw = await startGateway({ dataDir: dir, mqttPort: await freePort(), httpPort: null, users, log: silentLogger })
  t.teardown(gw.close)
  const manifest = buildManifest('hello', HELLO)
  await publishDeployment(gw.transport, new Topics(), manifest, HELLO)
  const board = await inProcessBoard({ id: 'b1', broker: gw.url, extra: { username: 'b1', password: passwordOf('b1') } })
  t.teardown(board.cleanup)
  for (let i = 0; i < 200 && !gw.leader.cluster.view().boards.some((b) => b.routable); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  t.ok(gw.leader.cluster.view().boards.some((b) => b.id === 'b1' && b.routable), 'the board authenticated and joined')
  await runAclMatrix(t, { url: gw.url, gw, helloSha: manifest.sha256, clientIdsTied: true, codeByExactHashOnly: true, mqtt5: false, retainRestricted: true })
})
