import t from 'tap'
import { inProcessBoard } from '../helpers/board.js'
import { ECHO, until } from '../helpers/leader-rig.js'
import { triggerRig } from '../helpers/trigger-rig.js'
import { ManualClock } from '../../runtime/shared/clock.js'
import type { Completion } from '../../runtime/leader/leader.js'

const START = Date.parse('2026-01-01T00:01:00Z')
const MIN = 60_000
const tickOf = (c: Completion): number | undefined => c.reply.ok ? (c.reply.result as { scheduledAt?: number }).scheduledAt : undefined

t.test('a cron function runs exactly once per tick with two boards up, on the manual clock', async (t) => {
  const clock = new ManualClock(START)
  // Gossip ages on the manual clock: with it jumping minutes, boards must not look stale.
  const r = await triggerRig(t, { clock, options: { staleMs: 24 * 3600_000 } })
  const boards = await Promise.all(['b1', 'b2'].map(async (id) => await inProcessBoard({ id, broker: r.rig.broker.url })))
  t.teardown(async () => { for (const b of boards) await b.cleanup() })
  await until(() => r.rig.leader.cluster.routable('b1') && r.rig.leader.cluster.routable('b2'), 15_000, 'both boards to join')
  await r.rig.deploy('tick', ECHO, { triggers: { cron: '*/5 * * * *' } })
  await r.runner.settled()

  const ticks = (): Completion[] => r.completions.filter((c) => c.fn === 'tick')
  clock.advance(4 * MIN - 1) // 00:04:59.999: no tick yet
  t.equal(r.rig.leader.inflightCount(), 0, 'nothing before the first tick')
  for (let n = 1; n <= 3; n++) {
    clock.advance(n === 1 ? 1 : 5 * MIN) // 00:05, 00:10, 00:15
    await until(() => ticks().length >= n, 15_000, `tick ${n} to complete`)
  }
  // The next invocation proves nothing else was still coming for the ticks above.
  clock.advance(5 * MIN)
  await until(() => ticks().length >= 4, 15_000, 'tick 4')
  const at = ticks().map(tickOf)
  t.same(at, [5, 10, 15, 20].map((m) => START - MIN + m * MIN), 'one run per tick, in order, at its scheduled time')
  t.ok(ticks().every((c) => c.reply.ok), 'every tick ran')
  t.ok(ticks().every((c) => c.board === 'b1' || c.board === 'b2'), 'on the real boards')
  const first = ticks()[0]?.reply
  t.same(first?.ok === true ? first.result : null, { scheduledAt: START + 4 * MIN, firedAt: START + 4 * MIN }, 'the event: {scheduledAt, firedAt}')
  t.equal(r.dead.received.length, 0, 'no dead letters')
})

t.test('ticks missed while the gateway was down are skipped; the next one runs', async (t) => {
  const clock = new ManualClock(START)
  const r = await triggerRig(t, { clock, options: { staleMs: 24 * 3600_000 } })
  const board = await inProcessBoard({ id: 'b1', broker: r.rig.broker.url })
  t.teardown(board.cleanup)
  await until(() => r.rig.leader.cluster.routable('b1'), 15_000, 'b1 to join')
  await r.rig.deploy('every', ECHO, { triggers: { every_ms: 30_000 } })
  await r.runner.settled()
  const runs = (): Completion[] => r.completions.filter((c) => c.fn === 'every')
  clock.advance(30_000)
  await until(() => runs().length === 1, 15_000, 'the first tick')
  t.equal(tickOf(runs()[0] as Completion), START + 30_000, 'every 30 s: on multiples of 30 s')

  await r.runner.stop() // the gateway goes down for 10 minutes
  clock.advance(10 * MIN)
  await r.restart()
  clock.advance(29_999)
  t.equal(r.rig.leader.inflightCount(), 0, 'none of the 20 missed ticks is run on restart')
  clock.advance(1)
  await until(() => runs().length === 2, 15_000, 'the next tick after the restart')
  t.equal(tickOf(runs()[1] as Completion), START + 30_000 + 10 * MIN + 30_000)
})

t.test('a schedule ends with its function; a redeploy without it stops the ticks', async (t) => {
  const clock = new ManualClock(START)
  const r = await triggerRig(t, { clock, options: { staleMs: 24 * 3600_000 } })
  await r.rig.deploy('gone', ECHO, { triggers: { every_ms: 1000 } })
  await r.rig.deploy('plain', ECHO, { triggers: { every_ms: 1000 } })
  await r.rig.deploy('plain') // no triggers any more
  await r.rig.transport.publish('wisp/functions/gone', Buffer.alloc(0), { retain: true })
  await until(() => r.rig.registry.get('gone') === undefined, 5000, 'gone to be removed')
  clock.advance(10_000)
  t.equal(r.rig.leader.inflightCount(), 0, 'no tick was submitted')
  t.equal(r.completions.length, 0)
})
