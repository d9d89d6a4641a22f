// The leader in this process on aedes (127.0.0.1), boards over real MQTT connections, and time
// driven by hand: every deadline and interval is checked to the millisecond.
import t from 'tap'
import { DEFAULT_LEADER_OPTIONS, LEADER_TICK_MS, type Completion } from '../../runtime/leader/leader.js'
import { ManualClock } from '../../runtime/shared/clock.js'
import { inProcessBoard } from '../helpers/board.js'
import { ScriptedBoard, gossipHeard, leaderRig, until } from '../helpers/leader-rig.js'
import { TestClient } from '../helpers/mqtt.js'

const T0 = 1_000_000
const { staleMs, waitMs, replyGraceMs, statePublishMs } = DEFAULT_LEADER_OPTIONS
/** The first leader tick (ticks at T0 + k·LEADER_TICK_MS) strictly after `t`. */
const tickAfter = (t: number): number => T0 + LEADER_TICK_MS * (Math.floor((t - T0) / LEADER_TICK_MS) + 1)

interface Err { ok: false, error: { code: string } }

t.test('the leader publishes its state at its interval, stamped with its clock', async (t) => {
  const clock = new ManualClock(T0)
  const rig = await leaderRig({ clock })
  t.teardown(rig.close)
  const watcher = await TestClient.connect(rig.broker.url)
  t.teardown(() => watcher.close())
  await watcher.sub('wisp/leader/state')
  await clock.run(2 * statePublishMs + LEADER_TICK_MS)
  const got = await watcher.waitFor((r) => r.length >= 3)
  // The first tick publishes at once; then one every statePublishMs, on a tick.
  t.same(got.map((r) => (r.json as { ts: number }).ts), [T0 + LEADER_TICK_MS, T0 + LEADER_TICK_MS + statePublishMs, T0 + LEADER_TICK_MS + 2 * statePublishMs])
})

t.test('an invocation its live board never answers gets WISP_TIMEOUT exactly at its deadline plus the grace', async (t) => {
  const clock = new ManualClock(T0)
  const rig = await leaderRig({ clock })
  t.teardown(rig.close)
  await rig.deploy('echo')
  const b1 = await ScriptedBoard.start(rig.broker.url, 'b1', 1000, { clock })
  t.teardown(() => b1.close())
  b1.mute = true
  await until(() => rig.leader.cluster.routable('b1'), 5000, 'b1 to join')
  const client = await TestClient.connect(rig.broker.url)
  t.teardown(() => client.close())
  await client.sub('wisp/result/c/#')
  let done: { c: Completion, at: number } | null = null
  rig.leader.onCompletion((c) => { done = { c, at: clock.now() } })

  const invokedAt = clock.now()
  await client.pub('wisp/invoke/echo/c/r1', '"x"')
  await until(() => b1.runs.length === 1, 5000, 'the run to reach b1')
  const timeoutMs = rig.registry.get('echo')?.timeout_ms ?? NaN
  t.equal(b1.runs[0]?.budgetMs, waitMs + timeoutMs, 'sent at once with the whole budget')
  const expected = invokedAt + waitMs + timeoutMs + replyGraceMs

  await clock.run(expected - invokedAt + 5000, { settle: gossipHeard(rig.leader, [{ id: 'b1', sentAt: () => b1.lastGossipAt }]), stop: () => done !== null })
  const d = done as { c: Completion, at: number } | null
  t.equal(d?.at, expected, 'answered on the millisecond the deadline and grace ran out')
  t.equal(d?.c.reply.ok === false ? d.c.reply.error.code : null, 'WISP_TIMEOUT')
  t.equal(rig.leader.cluster.get('b1')?.status, 'online', 'the board was live all along (a timeout, not a lost board)')
  t.notOk(rig.leader.cluster.routable('b1'), 'but gets no new work until it shows progress (test/leader/stuck-board.test.ts)')
  const [reply] = await client.waitFor((r) => r.length > 0)
  t.equal((reply?.json as Err).error.code, 'WISP_TIMEOUT', 'the client hears it over MQTT')
  t.equal(rig.leader.inflightCount(), 0)
})

t.test('a board whose gossip stops is declared lost on the first tick past staleMs, and its run goes to another board', async (t) => {
  const clock = new ManualClock(T0)
  const rig = await leaderRig({ clock })
  t.teardown(rig.close)
  // A real agent whose own clock never moves: connected, running the invocation, but silent.
  await rig.deploy('hang', 'export async function handler () { await new Promise(() => {}) }', { timeout_ms: 60_000 })
  const frozen = new ManualClock(T0)
  const b1 = await inProcessBoard({ id: 'b1', broker: rig.broker.url, clock: frozen })
  t.teardown(b1.cleanup)
  await until(() => rig.leader.cluster.routable('b1'), 10_000, 'b1 to join')
  const client = await TestClient.connect(rig.broker.url)
  t.teardown(() => client.close())
  await client.sub('wisp/result/c/#')
  await client.pub('wisp/invoke/hang/c/r1', '{"n":1}')
  await until(() => rig.leader.cluster.get('b1')?.inflight === 1, 5000, 'the run to go to b1')

  const b2 = await ScriptedBoard.start(rig.broker.url, 'b2', 1000, { clock })
  t.teardown(() => b2.close())
  await until(() => rig.leader.cluster.routable('b2'), 5000, 'b2 to join')
  let lost: { id: string, at: number } | null = null
  rig.leader.onStale = (id) => { lost ??= { id, at: clock.now() } }
  const lastSeen = rig.leader.cluster.get('b1')?.lastSeen ?? NaN

  const settle = gossipHeard(rig.leader, [{ id: 'b2', sentAt: () => b2.lastGossipAt }])
  await clock.run(lastSeen + staleMs - clock.now(), { settle })
  t.ok(rig.leader.cluster.routable('b1'), 'still routable at exactly staleMs')
  t.equal(lost, null, 'not lost yet')
  await clock.run(2 * staleMs, { settle, stop: () => lost !== null })
  const l = lost as { id: string, at: number } | null
  t.same(l, { id: 'b1', at: tickAfter(lastSeen + staleMs) }, 'lost on the first tick past the bound')
  t.notOk(rig.leader.cluster.routable('b1'))
  await until(() => b2.runs.length === 1, 5000, 'the retry to reach b2')
  t.equal(b2.runs[0]?.attempt, 1, 'the second attempt')
  const [reply] = await client.waitFor((r) => r.length > 0)
  t.same(reply?.json, { ok: true, result: { n: 1 } }, 'b2 answered it')
})
