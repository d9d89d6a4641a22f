// A real agent in this process (isolates in their host) on aedes (127.0.0.1), its time driven by
// hand: gossip, the wait for a manifest and the drain before a shutdown, to the millisecond.
import t from 'tap'
import { DONE_STATE_MS, SHUTDOWN_DRAIN_MS } from '../../runtime/agent/agent.js'
import { startBroker } from '../../runtime/leader/broker.js'
import { newInvocationId } from '../../runtime/leader/on-invoke.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { encode, type RunMessage } from '../../runtime/protocol/messages.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { ManualClock } from '../../runtime/shared/clock.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { AedesTransport } from '../../runtime/transport/aedes-transport.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { inProcessBoard } from '../helpers/board.js'
import { until } from '../helpers/leader-rig.js'
import { TestClient } from '../helpers/mqtt.js'

const T0 = 5_000_000
const GOSSIP_MS = 1000

const setup = async (t: { teardown: (fn: () => unknown) => void }): Promise<{ clock: ManualClock, board: Awaited<ReturnType<typeof inProcessBoard>>, watcher: TestClient, transport: AedesTransport }> => {
  const broker = await startBroker({ port: 0, host: '127.0.0.1', log: silentLogger })
  t.teardown(() => broker.close())
  const transport = new AedesTransport(broker.aedes)
  t.teardown(() => transport.close())
  const clock = new ManualClock(T0)
  const board = await inProcessBoard({ id: 'b1', broker: broker.url, clock, extra: { gossip_ms: GOSSIP_MS } })
  t.teardown(board.cleanup)
  const watcher = await TestClient.connect(broker.url)
  t.teardown(() => watcher.close())
  await watcher.sub('wisp/boards/b1/#')
  return { clock, board, watcher, transport }
}

type Json = Record<string, unknown>
const states = (w: TestClient): Json[] => w.on('wisp/boards/b1/state').map((r) => r.json as Json)
const dones = (w: TestClient): Json[] => w.on('wisp/boards/b1/done').map((r) => r.json as Json)
const run = (fn: string, sha256: string, budgetMs: number): Buffer => encode({
  v: 1, invocation: newInvocationId(), request_id: 'r1', fn, sha256, event: null, budget_ms: budgetMs, attempt: 0
} satisfies RunMessage)

t.test('the agent gossips every gossip_ms of its clock, and its states carry that clock\'s time', async (t) => {
  const { clock, watcher } = await setup(t)
  await watcher.waitFor(() => states(watcher).length === 1)
  t.match(states(watcher)[0], { status: 'online', ts: T0 }, 'the retained status from start')
  await clock.run(3 * GOSSIP_MS)
  await watcher.waitFor(() => states(watcher).length === 4)
  t.same(states(watcher).map((s) => s.ts), [T0, T0 + GOSSIP_MS, T0 + 2 * GOSSIP_MS, T0 + 3 * GOSSIP_MS])
  const seqs = states(watcher).map((s) => s.seq as number)
  t.ok(seqs.every((q, i) => i === 0 || q > (seqs[i - 1] ?? Infinity)), 'in order')
})

t.test('a run whose manifest never arrives waits 2 s of the clock, then is answered WISP_UNKNOWN_FUNCTION', async (t) => {
  const { clock, watcher } = await setup(t)
  await watcher.pub('wisp/boards/b1/run', run('ghost', 'a'.repeat(64), 10_000))
  await until(() => clock.dueTimes().includes(T0 + 2000), 5000, 'the agent to wait for the manifest')
  await clock.run(1999)
  t.equal(dones(watcher).length, 0, 'nothing answered before the wait ran out')
  await clock.run(1)
  const [done] = await watcher.waitFor(() => dones(watcher).length === 1).then(() => dones(watcher))
  t.match(done, { reply: { ok: false, error: { code: 'WISP_UNKNOWN_FUNCTION' }, receipt: { total_ms: 2000, queue_ms: 2000 } } })
})

t.test('shutdown waits for a running invocation at most SHUTDOWN_DRAIN_MS of the clock, then the board says offline', async (t) => {
  const { clock, board, watcher, transport } = await setup(t)
  const code = 'export async function handler () { await new Promise(() => {}) }'
  const m = buildManifest('hang', code, { timeout_ms: 60_000 })
  await publishDeployment(transport, new Topics(), m, code)
  await watcher.pub('wisp/boards/b1/run', run('hang', m.sha256, 60_000))
  await until(() => board.agent.state().functions.hang?.running === 1, 10_000, 'the invocation to run')
  await watcher.pub('wisp/boards/b1/control', JSON.stringify({ v: 1, op: 'shutdown' }))
  const shutdownAt = clock.now()
  await until(() => clock.dueTimes().includes(shutdownAt + SHUTDOWN_DRAIN_MS), 5000, 'the agent to wait for its invocation')
  await watcher.waitFor(() => states(watcher).some((s) => s.status === 'draining'))
  await clock.run(SHUTDOWN_DRAIN_MS - 1)
  t.notOk(states(watcher).some((s) => s.status === 'offline'), 'still draining 1 ms before the bound')
  await clock.run(1)
  await watcher.waitFor(() => states(watcher).some((s) => s.status === 'offline'))
  t.same(states(watcher).filter((s) => s.status === 'offline').map((s) => s.ts), [shutdownAt + SHUTDOWN_DRAIN_MS], 'offline on the millisecond the drain bound ran out')
})

t.test('a done carries the board state when it says something new (busy or idle) or DONE_STATE_MS of the clock have passed, not with every done', async (t) => {
  const { clock, watcher } = await setup(t)
  const sha = 'a'.repeat(64)
  for (let i = 0; i < 3; i++) await watcher.pub('wisp/boards/b1/run', run('ghost', sha, 10_000))
  await until(() => clock.dueTimes().filter((d) => d === T0 + 2000).length >= 3, 5000, 'the three runs to wait for their manifest')
  await clock.run(2000)
  const three = await watcher.waitFor(() => dones(watcher).length === 3).then(() => dones(watcher))
  t.same(three.map((d) => d.state !== undefined), [true, false, true], 'busy (new), busy again at the same time (nothing new), idle (new)')
  t.match(three[2], { state: { id: 'b1', queue_len: 0 } }, 'the idle state')
  await watcher.pub('wisp/boards/b1/run', run('ghost', sha, 10_000))
  await until(() => clock.dueTimes().includes(T0 + 4000), 5000, 'the fourth run to wait')
  await clock.run(2000)
  const [, , , fourth] = await watcher.waitFor(() => dones(watcher).length === 4).then(() => dones(watcher))
  t.ok(fourth?.state !== undefined, `idle again, but ${DONE_STATE_MS} ms later: the state goes along`)
})
