import t from 'tap'
import { Topics } from '../../runtime/protocol/topics.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { encode, type RunMessage } from '../../runtime/protocol/messages.js'
import { inProcessBoard } from '../helpers/board.js'
import { until } from '../helpers/leader-rig.js'
import { TestClient } from '../helpers/mqtt.js'
import { redisMissing, startRedis } from '../helpers/redis.js'
import { clusteredGateway } from '../helpers/clustered-gateway.js'

const skip = redisMissing()

const gateway = clusteredGateway

t.test('each new leader has a higher fencing token, and a board ignores a run from a deposed leader', { skip }, async (t) => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const topics = new Topics()
  const a = await gateway(t, redis.url)
  await a.elected()
  const b = await gateway(t, redis.url)
  const first = a.fence()

  const client = await TestClient.connect(b.url)
  t.teardown(() => client.close())
  const code = 'export async function handler (e) { return e.n }'
  const m = buildManifest('fenced', code, {})
  await client.pub(topics.code(m.sha256), code, { retain: true })
  await client.pub(topics.fn('fenced'), encode(m), { retain: true })
  const board = await inProcessBoard({ id: 'fz', broker: b.url, extra: { fallback_brokers: [a.url] } })
  t.teardown(board.cleanup)
  await client.sub('wisp/result/fz/#')
  await client.sub(topics.board('fz', 'done'))
  const invoke = async (id: string, n: number): Promise<void> => {
    await client.pub(`wisp/invoke/fenced/fz/${id}`, JSON.stringify({ n }))
    await client.waitFor((r) => r.some((x) => x.topic === topics.result('fz', 'fenced', id)), 15_000)
  }
  await invoke('r1', 1) // the board has seen A's token

  await a.close() // A steps down (releases the lease); B takes over with a higher token
  const gb = await b.elected()
  t.ok(b.fence() > first, `B leads with token ${b.fence()} > A's ${first}`)
  await until(() => gb.leader.cluster.routable('fz') && gb.registry.get('fenced') !== undefined, 15_000, 'fz routable by B')
  await invoke('r2', 2) // and now B's

  // What A's leader would still send if it did not know it was deposed: a run with its token.
  const run = (invocation: string, fence: number): Buffer => encode({ v: 1, invocation, request_id: invocation, fn: 'fenced', sha256: m.sha256, event: { n: 7 }, budget_ms: 5000, attempt: 0, fence } satisfies RunMessage)
  await client.pub(topics.board('fz', 'run'), run('stale', first))
  await client.pub(topics.board('fz', 'run'), run('current', b.fence())) // the same board, after it: a marker
  const dones = (): string[] => client.on(topics.board('fz', 'done')).map((r) => (r.json as { invocation: string }).invocation)
  await client.waitFor(() => dones().includes('current'), 10_000)
  // Had the board taken the stale run (before the current one, in order), it would be running or done by now.
  await until(() => Object.values(board.agent.state().functions).every((f) => f.running === 0 && f.queue_len === 0), 10_000, 'board idle')
  t.notOk(board.agent.recentInvocations().some((r) => r.request_id === 'stale'), 'the run with the lower token never ran')
  t.notOk(dones().includes('stale'), 'and was never answered')
  t.ok(dones().includes('current'), 'the run with the current token ran')
})
