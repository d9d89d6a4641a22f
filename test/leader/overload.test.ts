import t, { type Test } from 'tap'
import { RateLimiter } from '../../runtime/leader/rate-limit.js'
import { ManualClock } from '../../runtime/shared/clock.js'
import { createPolicySet } from '../../runtime/leader/policies/policy-sets.js'
import type { BalancePolicy } from '../../runtime/leader/policies/types.js'
import { TestClient } from '../helpers/mqtt.js'
import { echoRigWithBoard, leaderRig, ScriptedBoard, until, type LeaderRig } from '../helpers/leader-rig.js'

interface R { ok: boolean, result?: unknown, error?: { code: string } }

const codes = (c: TestClient, prefix: string): string[] => c.received.filter((m) => m.topic.startsWith(prefix)).map((m) => { const r = m.json as R; return r.ok ? 'ok' : r.error?.code ?? '?' })

t.test('token bucket: a burst, then the rate; quiet clients are forgotten first', async (t) => {
  const r = new RateLimiter(10, 5, 3)
  t.same(Array.from({ length: 6 }, () => r.take('a', 0)), [true, true, true, true, true, false], 'a burst of 5')
  t.equal(r.take('a', 50), false, 'half a token after 50 ms')
  t.equal(r.take('a', 100), true, 'one token after 100 ms at 10/s')
  r.take('b', 0); r.take('c', 0)
  t.equal(r.size, 3)
  r.take('d', 10_000)
  t.equal(r.size, 1, 'refilled buckets are dropped when the table is full')
})

t.test('past the in-flight cap an invoke is answered WISP_OVERLOADED at once', async (t) => {
  const rig = await leaderRig({ options: { maxInflight: 5 } })
  t.teardown(rig.close)
  await rig.deploy('echo')
  const b1 = await ScriptedBoard.start(rig.broker.url, 'b1')
  t.teardown(() => b1.close())
  b1.mute = true
  await until(() => rig.leader.cluster.routable('b1'), 5000, 'b1 to join')
  const c = await TestClient.connect(rig.broker.url)
  t.teardown(() => c.close())
  await c.sub('wisp/result/cap/#')
  for (let i = 0; i < 8; i++) await c.pub(`wisp/invoke/echo/cap/r${i}`, '1')
  await c.waitFor((r) => r.length >= 3, 5000)
  t.same(codes(c, 'wisp/result/cap/'), ['WISP_OVERLOADED', 'WISP_OVERLOADED', 'WISP_OVERLOADED'])
  t.equal(rig.leader.inflightCount(), 5)
})

const mutedRig = async (t: Test, options: Parameters<typeof leaderRig>[0]): Promise<{ rig: LeaderRig, c: TestClient }> => {
  const rig = await leaderRig(options)
  t.teardown(rig.close)
  await rig.deploy('echo')
  const b1 = await ScriptedBoard.start(rig.broker.url, 'b1')
  t.teardown(() => b1.close())
  b1.mute = true
  await until(() => rig.leader.cluster.routable('b1'), 5000, 'b1 to join')
  const c = await TestClient.connect(rig.broker.url)
  t.teardown(() => c.close())
  await c.sub('wisp/result/cap/#')
  return { rig, c }
}
/** A JSON string event of exactly `n` bytes. */
const eventOf = (n: number): string => JSON.stringify('x'.repeat(n - 2))

t.test('past the byte budget of held events an invoke is answered WISP_OVERLOADED at once; a smaller one still fits', async (t) => {
  const { rig, c } = await mutedRig(t, { options: { maxInflightBytes: 100 } })
  for (const [i, n] of [40, 40, 40, 10].entries()) await c.pub(`wisp/invoke/echo/cap/r${i}`, eventOf(n))
  await c.waitFor((r) => r.length >= 1, 5000)
  t.same(c.received.map((m) => m.topic), ['wisp/result/cap/echo/r2'], 'the third 40-byte event would make 120 bytes')
  t.same(codes(c, 'wisp/result/cap/'), ['WISP_OVERLOADED'])
  await until(() => rig.leader.inflightCount() === 3, 5000, 'the 10-byte event to be admitted')
})

t.test('one invocation is admitted whatever its size; the next waits for room', async (t) => {
  const { rig, c } = await mutedRig(t, { options: { maxInflightBytes: 100 } })
  await c.pub('wisp/invoke/echo/cap/big', eventOf(150))
  await c.pub('wisp/invoke/echo/cap/small', eventOf(3))
  await c.waitFor((r) => r.length >= 1, 5000)
  t.same(c.received.map((m) => m.topic), ['wisp/result/cap/echo/small'])
  t.same(codes(c, 'wisp/result/cap/'), ['WISP_OVERLOADED'])
  t.equal(rig.leader.inflightCount(), 1)
})

t.test('a client over its invoke rate gets WISP_RATE_LIMITED; other clients are unaffected', async (t) => {
  const { client: c } = await echoRigWithBoard(t, 'wisp/result/#', { invokeRatePerClient: 1, invokeBurstPerClient: 3 })
  for (let i = 0; i < 5; i++) await c.pub(`wisp/invoke/echo/greedy/r${i}`, '1')
  await c.pub('wisp/invoke/echo/polite/r0', '2')
  await c.waitFor((r) => r.length >= 6, 5000)
  t.same(codes(c, 'wisp/result/greedy/').sort(), ['WISP_RATE_LIMITED', 'WISP_RATE_LIMITED', 'ok', 'ok', 'ok'])
  t.same(codes(c, 'wisp/result/polite/'), ['ok'])
})

t.test('an exception in the balance policy is survived by the message handler and the tick, and the work still gets done', async (t) => {
  const real = createPolicySet('wisp').balance
  let failures = 6
  const flaky: BalancePolicy = { name: 'flaky', pick: (view, fn, rng) => { if (failures-- > 0) throw new Error('policy bug'); return real.pick(view, fn, rng) } }
  const rig = await leaderRig({ balance: flaky })
  t.teardown(rig.close)
  await rig.deploy('echo')
  const b1 = await ScriptedBoard.start(rig.broker.url, 'b1')
  t.teardown(() => b1.close())
  await until(() => rig.leader.cluster.routable('b1'), 5000, 'b1 to join')
  rig.leader.onCompletion(() => { throw new Error('listener bug') })
  const c = await TestClient.connect(rig.broker.url)
  t.teardown(() => c.close())
  await c.sub('wisp/result/x/#')
  await c.pub('wisp/invoke/echo/x/r1', '"still"')
  await c.waitFor((r) => r.length >= 1, 10_000)
  t.same(codes(c, 'wisp/result/x/'), ['ok'], 'answered once the policy recovered')
  t.ok(failures < 0, 'the policy failed first')
})

t.test('an invoke whose deadline comes before the queue ahead of it can be served is answered WISP_OVERLOADED at once', async (t) => {
  const { rig, c } = await mutedRig(t, {})
  const b2 = await ScriptedBoard.start(rig.broker.url, 'b2')
  t.teardown(() => b2.close())
  // b2 holds 100 runs of echo and serves 10 a second: a new one waits about 10 s.
  b2.stateOver = () => ({ queue_len: 100, service_rate: 10, functions: { echo: { queue_len: 100, service_rate: 10, running: 1, runtimes: 1 } } })
  await b2.gossip()
  await until(() => rig.leader.cluster.get('b2')?.state?.functions.echo?.queue_len === 100, 5000, 'b2 to report its queue')
  const invoke = async (req: string, deadlineMs: number): Promise<void> => { await c.pub(`wisp/invoke/echo/cap/${req}`, JSON.stringify({ $wisp: { deadline_ms: deadlineMs }, event: req })) }
  // b1 (muted, idle) is routable too, with no rate for echo: the wait is b2's queue over b2's rate.
  await invoke('short', 2000)
  await c.waitFor((r) => r.length >= 1, 5000)
  const r = c.received[0]?.json as { ok: boolean, error?: { code: string, message: string } }
  t.equal(r.error?.code, 'WISP_OVERLOADED', 'a 2 s deadline behind about 10 s of queue')
  t.match(r.error?.message ?? '', /would wait about 10000 ms/)
  await invoke('long', 60_000)
  await until(() => rig.leader.inflightCount() === 1, 5000, 'the invoke with a 60 s deadline to be accepted')
  t.equal(c.received.length, 1, 'no reply to it yet: it runs')
})

t.test("refusals at admission reach the function's log once a second per code, with how many were left out", async (t) => {
  const clock = new ManualClock(1_000_000)
  const { rig, client: c } = await echoRigWithBoard(t, 'wisp/result/#', { invokeRatePerClient: 1, invokeBurstPerClient: 1 }, clock)
  const refusedLines = (): string[] => rig.admin.logs.read('echo').map((l) => l.text).filter((x) => x.startsWith('WISP_RATE_LIMITED'))
  for (let i = 0; i < 30; i++) await c.pub(`wisp/invoke/echo/greedy/r${i}`, '1')
  await c.waitFor((r) => r.length >= 30, 5000)
  t.same(codes(c, 'wisp/result/greedy/').filter((x) => x === 'WISP_RATE_LIMITED').length, 29, 'every refused invoke is still answered')
  t.equal(refusedLines().length, 1, 'one log line for 29 refusals within the second')
  clock.advance(1000) // one token back: one more admitted, the next refused
  await c.pub('wisp/invoke/echo/greedy/late1', '1')
  await c.pub('wisp/invoke/echo/greedy/late2', '1')
  await c.waitFor((r) => r.length >= 32, 5000)
  const lines = refusedLines()
  t.equal(lines.length, 2, 'the next second: one more line')
  t.match(lines[1], /28 more refused before it, not logged/)
})
