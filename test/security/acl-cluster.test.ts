import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startClusteredGateway, type ClusteredGateway } from '../../runtime/gateway/clustered.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { hashPassword } from '../../runtime/shared/password.js'
import type { BrokerUser } from '../../runtime/leader/broker-auth.js'
import { inProcessBoard } from '../helpers/board.js'
import { until } from '../helpers/leader-rig.js'
import { redisMissing, startRedis } from '../helpers/redis.js'
import { ACCOUNTS, HELLO, passwordOf, runAclMatrix } from '../helpers/acl-matrix.js'

const skip = redisMissing()
// Every connection costs one scrypt check; the matrix makes over a hundred.
t.setTimeout(300_000)

t.test('ACL matrix on a clustered gateway (Redis): the attacker is on the follower, the leader and the board on the other', { skip }, async (t) => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const users: Record<string, BrokerUser> = {}
  for (const [u, role] of Object.entries(ACCOUNTS)) users[u] = { password_hash: await hashPassword(passwordOf(u)), role }
  const open = async (): Promise<ClusteredGateway> => {
    const dir = mkdtempSync(join(tmpdir(), 'wisp-acl-cl-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const g = await startClusteredGateway({ dataDir: dir, mqttPort: 0, httpPort: null, users, log: silentLogger, cluster: { redis: redis.url, leaseMs: 1500 } })
    t.teardown(g.close)
    return g
  }
  const a = await open()
  const gw = await a.elected()
  const b = await open()
  t.equal(b.leader(), null, 'the second gateway follows')
  const manifest = buildManifest('hello', HELLO)
  await publishDeployment(gw.transport, new Topics(), manifest, HELLO)
  // The board is on the leader's broker: what it is sent crosses Redis, where the follower's clients try to read it.
  const board = await inProcessBoard({ id: 'b1', broker: a.url, extra: { username: 'b1', password: passwordOf('b1') } })
  t.teardown(board.cleanup)
  await until(() => gw.leader.cluster.view().boards.some((x) => x.id === 'b1' && x.routable), 20_000, 'b1 joined')
  await until(() => gw.registry.get('hello') !== undefined, 10_000, 'hello is deployed')
  await runAclMatrix(t, { url: b.url, gw, helloSha: manifest.sha256, clientIdsTied: true, codeByExactHashOnly: true, mqtt5: false, retainRestricted: true })
})
