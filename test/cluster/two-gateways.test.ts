import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startClusteredGateway, type ClusteredGateway } from '../../runtime/gateway/clustered.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { encode } from '../../runtime/protocol/messages.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { inProcessBoard } from '../helpers/board.js'
import { until } from '../helpers/leader-rig.js'
import { TestClient } from '../helpers/mqtt.js'
import { redisMissing, startRedis } from '../helpers/redis.js'
import { clusteredGateway } from '../helpers/clustered-gateway.js'

const skip = redisMissing()

const gateway = clusteredGateway

t.test('two gateways on one Redis: a client of A invokes a function that a board on B runs; B sees what A retained', { skip }, async (t) => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const a = await gateway(t, redis.url)
  const leader = await a.elected() // A leads: the board's runs cross from A's broker to B's through Redis
  const b = await gateway(t, redis.url)
  t.not(a.id, b.id, 'each broker has its own id')

  // Deployed through A (retained there) ...
  const deployer = await TestClient.connect(a.url)
  t.teardown(() => deployer.close())
  const code = 'export async function handler (e) { return { twice: e.n * 2 } }'
  const m = buildManifest('double', code, {})
  const topics = new Topics()
  await deployer.pub(topics.code(m.sha256), code, { retain: true })
  await deployer.pub(topics.fn('double'), encode(m), { retain: true })
  // ... and read by a client of B, which subscribes after the fact.
  const watcher = await TestClient.connect(b.url)
  t.teardown(() => watcher.close())
  await watcher.sub(topics.fn('double'))
  const seen = await watcher.waitFor((r) => r.length > 0, 5000)
  t.match(seen[0]?.json, { name: 'double', sha256: m.sha256 }, 'the manifest retained on A is retained on B')

  const board = await inProcessBoard({ id: 'cb1', broker: b.url })
  t.teardown(board.cleanup)
  await until(() => leader.leader.cluster.routable('cb1') && leader.registry.get('double') !== undefined, 15_000, 'board cb1 (on B) routable by the leader on A')

  const client = await TestClient.connect(a.url)
  t.teardown(() => client.close())
  await client.sub('wisp/result/ca/#')
  await client.pub('wisp/invoke/double/ca/r1', JSON.stringify({ n: 21 }))
  const got = await client.waitFor((r) => r.length > 0, 10_000)
  t.match(got[0]?.json, { ok: true, result: { twice: 42 }, receipt: { board: 'cb1' } }, 'answered by the board on B')
  t.equal(b.leader(), null, 'B runs no leader while A holds the lease')
  t.ok(a.fence() >= 1, `A leads with fencing token ${a.fence()}`)
})

t.test('a gateway that leads again learns deployments from Redis, not from its own stale copy', { skip }, async (t) => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const dir = mkdtempSync(join(tmpdir(), 'wisp-cgw-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const open = async (): Promise<ClusteredGateway> => await startClusteredGateway({ dataDir: dir, mqttPort: 0, httpPort: null, log: silentLogger, cluster: { redis: redis.url, leaseMs: 1500 } })
  const topics = new Topics()
  const code = (n: number): string => `export async function handler () { return ${n} }`
  const deploy = async (url: string, fn: string, n: number): Promise<void> => {
    const c = await TestClient.connect(url)
    const m = buildManifest(fn, code(n), {})
    await c.pub(topics.code(m.sha256), code(n), { retain: true })
    await c.pub(topics.fn(fn), encode(m), { retain: true })
    await c.close()
  }
  let b = await open() // B leads first and stores `gone` and `kept` in its registry
  let gb = await b.elected()
  await deploy(b.url, 'gone', 1)
  await deploy(b.url, 'kept', 1)
  await until(() => gb.registry.get('gone') !== undefined && gb.registry.get('kept') !== undefined, 5000, 'B learns both')
  await b.close()

  const a = await gateway(t, redis.url) // A leads while B is away: `gone` is removed, `kept` redeployed
  const ga = await a.elected()
  await until(() => ga.registry.get('kept') !== undefined, 5000, 'A learns kept from Redis')
  const c = await TestClient.connect(a.url)
  await c.pub(topics.fn('gone'), '', { retain: true })
  await c.close()
  await deploy(a.url, 'kept', 2)
  const kept2 = buildManifest('kept', code(2), {}).sha256
  await until(() => ga.registry.get('gone') === undefined && ga.registry.get('kept')?.sha256 === kept2, 5000, 'A applies both')
  await a.close()

  b = await open() // B again, on its old data folder
  t.teardown(() => b.close())
  gb = await b.elected()
  await until(() => gb.registry.get('kept')?.sha256 === kept2, 5000, 'B learns the redeployed kept')
  t.equal(gb.registry.get('gone'), undefined, 'the function removed meanwhile does not come back')
})
