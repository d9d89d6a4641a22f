import t from 'tap'
import { inProcessBoard } from '../helpers/board.js'
import { ECHO, ScriptedBoard, until } from '../helpers/leader-rig.js'
import { triggerRig } from '../helpers/trigger-rig.js'
import { ManualClock } from '../../runtime/shared/clock.js'
import type { Completion } from '../../runtime/leader/leader.js'

const resultOf = (c: Completion): Record<string, unknown> => (c.reply.ok ? c.reply.result : {}) as Record<string, unknown>
const topicOf = (c: Completion): unknown => resultOf(c).topic

t.test('a publish to sensors/kitchen/temp invokes the bound function exactly once, on a real board', async (t) => {
  const r = await triggerRig(t)
  const board = await inProcessBoard({ id: 'b1', broker: r.rig.broker.url })
  t.teardown(board.cleanup)
  await until(() => r.rig.leader.cluster.routable('b1'), 10_000, 'b1 to join')
  await r.rig.deploy('thermo', ECHO, { triggers: { on: ['sensors/+/temp'] } })
  // Overlapping filters of one function: still one invocation per message.
  await r.rig.deploy('all', ECHO, { triggers: { on: ['sensors/#', 'sensors/+/temp'] } })
  await r.runner.settled()
  const of = (fn: string, topic: string): Completion[] => r.completions.filter((c) => c.fn === fn && topicOf(c) === topic)

  await r.sensor.pub('sensors/kitchen/temp', '{"c":21.5}')
  await r.sensor.pub('sensors/kitchen/humidity', '{"rh":40}')
  await r.sensor.pub('sensors/hall/temp', 'hot') // not JSON: the UTF-8 string
  await until(() => of('thermo', 'sensors/hall/temp').length === 1 && of('all', 'sensors/hall/temp').length === 1, 15_000, 'the marker message to run')
  await until(() => of('all', 'sensors/kitchen/humidity').length === 1, 15_000, 'the humidity message to run "all"')

  const kitchen = of('thermo', 'sensors/kitchen/temp')
  t.equal(kitchen.length, 1, 'thermo ran once for the kitchen reading')
  t.equal(of('all', 'sensors/kitchen/temp').length, 1, 'a function with two matching filters ran once')
  t.equal(r.completions.filter((c) => c.fn === 'thermo' && topicOf(c) === 'sensors/kitchen/humidity').length, 0, 'no match, no run')
  const ev = resultOf(kitchen[0] as Completion)
  t.same(ev.payload, { c: 21.5 }, 'a JSON payload arrives parsed')
  t.equal(ev.qos, 1)
  t.equal(ev.retain, false)
  t.type(ev.receivedAt, 'number')
  t.equal(kitchen[0]?.board, 'b1', 'ran on the real board')
  t.equal(resultOf(of('thermo', 'sensors/hall/temp')[0] as Completion).payload, 'hot', 'a non-JSON payload arrives as its UTF-8 string')
  t.equal(r.dead.received.length, 0, 'no dead letters')
})

t.test('two functions on one filter share one broker subscription, dropped with the last of them', async (t) => {
  const r = await triggerRig(t, { overMqtt: true })
  const events: string[] = []
  r.rig.broker.aedes.on('subscribe', (subs, client) => { if (client?.id === 'leader-triggers') for (const s of subs) events.push(`+${s.topic}`) })
  r.rig.broker.aedes.on('unsubscribe', (subs, client) => { if (client?.id === 'leader-triggers') for (const s of subs) events.push(`-${s}`) })
  const b1 = await ScriptedBoard.start(r.rig.broker.url, 'b1')
  t.teardown(() => b1.close())
  await until(() => r.rig.leader.cluster.routable('b1'), 5000, 'b1 to join')
  await r.rig.deploy('a', ECHO, { triggers: { on: ['sensors/+/temp'] } })
  await r.rig.deploy('b', ECHO, { triggers: { on: ['sensors/+/temp', 'doors/#'] } })
  await r.runner.settled()
  await until(() => events.length >= 2, 5000, 'the broker to see the subscriptions')
  t.same(events.sort(), ['+doors/#', '+sensors/+/temp'], 'one subscription per distinct filter')

  await r.sensor.pub('sensors/attic/temp', '3')
  await until(() => ['a', 'b'].every((fn) => r.completions.some((c) => c.fn === fn && topicOf(c) === 'sensors/attic/temp')), 10_000, 'both functions to run')
  t.equal(r.completions.filter((c) => topicOf(c) === 'sensors/attic/temp').length, 2, 'one message, one run of each function')

  events.length = 0
  await r.rig.transport.publish('wisp/functions/a', Buffer.alloc(0), { retain: true })
  await until(() => r.rig.registry.get('a') === undefined, 5000, 'a to be removed')
  await r.runner.settled()
  t.same(events, [], 'b still uses the filter: no unsubscribe')
  await r.rig.deploy('b', ECHO, { triggers: { on: ['doors/#'] } })
  await r.runner.settled()
  await until(() => events.length >= 1, 5000, 'the broker to see the unsubscribe')
  t.same(events, ['-sensors/+/temp'], 'no function uses it any more: unsubscribed')
  t.same(r.runner.filters, ['doors/#'])
})

t.test('a failing triggered function lands on wisp/dead/<fn> with the error and the topic', async (t) => {
  const r = await triggerRig(t)
  const board = await inProcessBoard({ id: 'b1', broker: r.rig.broker.url })
  t.teardown(board.cleanup)
  await until(() => r.rig.leader.cluster.routable('b1'), 10_000, 'b1 to join')
  await r.rig.deploy('bad', 'export async function handler (e) { throw new Error("sensor says " + e.payload.c) }', { triggers: { on: ['sensors/+/temp'] } })
  await r.runner.settled()
  await r.sensor.pub('sensors/kitchen/temp', '{"c":99}')
  const got = await r.dead.waitFor((rs) => rs.length >= 1, 15_000)
  t.equal(got[0]?.topic, 'wisp/dead/bad')
  const letter = got[0]?.json as { fn: string, error: { code: string, message: string }, topic: string, trigger: unknown, request_id: string }
  t.equal(letter.fn, 'bad')
  t.equal(letter.error.code, 'WISP_FUNCTION_ERROR')
  t.match(letter.error.message, /sensor says 99/)
  t.equal(letter.topic, 'sensors/kitchen/temp')
  t.same(letter.trigger, { kind: 'topic', filter: 'sensors/+/temp' })
  t.match(letter.request_id, /^t/)
})

t.test('per-trigger concurrency and rate limits send the excess to the dead-letter topic', async (t) => {
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'))
  const r = await triggerRig(t, { clock, options: { staleMs: 3_600_000 } })
  const b1 = await ScriptedBoard.start(r.rig.broker.url, 'b1')
  t.teardown(() => b1.close())
  b1.mute = true // runs stay in flight
  await until(() => r.rig.leader.cluster.routable('b1'), 5000, 'b1 to join')
  await r.rig.deploy('one', ECHO, { triggers: { on: ['a/one'], concurrency: 1 } })
  await r.rig.deploy('slow', ECHO, { triggers: { on: ['a/slow'], rate: 0.001, burst: 1 } })
  await r.runner.settled()
  for (const topic of ['a/one', 'a/one', 'a/slow', 'a/slow']) await r.sensor.pub(topic, '1')
  const got = await r.dead.waitFor((rs) => rs.length >= 2, 10_000)
  const codes = Object.fromEntries(got.map((m) => [m.topic, (m.json as { error: { code: string } }).error.code]))
  t.same(codes, { 'wisp/dead/one': 'WISP_OVERLOADED', 'wisp/dead/slow': 'WISP_RATE_LIMITED' })
  await until(() => b1.runs.length === 2, 5000, 'the two admitted runs to reach the board')
  t.equal(r.rig.leader.inflightCount(), 2, 'one admitted per trigger, still in flight')
})

t.test('a manifest with a trigger on wisp/# or # is refused, even published by hand', async (t) => {
  const r = await triggerRig(t)
  for (const [fn, filter] of [['sneaky', 'wisp/#'], ['greedy', '#']] as const) {
    const m = { v: 1, name: fn, sha256: 'a'.repeat(64), size: 10, triggers: { on: [filter] } }
    await r.rig.transport.publish(`wisp/functions/${fn}`, JSON.stringify(m), { retain: true })
  }
  await r.rig.deploy('fine', ECHO, { triggers: { on: ['sensors/#'] } })
  await r.runner.settled()
  t.equal(r.rig.registry.get('sneaky'), undefined)
  t.equal(r.rig.registry.get('greedy'), undefined)
  t.same(r.runner.filters, ['sensors/#'])
})
