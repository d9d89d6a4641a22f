import t from 'tap'
import { readDone } from '../../runtime/leader/on-done.js'
import { readState } from '../../runtime/leader/on-state.js'
import type { Invocation } from '../../runtime/leader/inflight.js'
import { encode } from '../../runtime/protocol/messages.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import type { InboundMessage } from '../../runtime/transport/transport.js'
import { boardState, incarnationAt } from '../helpers/leader-rig.js'

const topics = new Topics()
const msg = (topic: string, payload: unknown, retain = false): InboundMessage => ({ topic, payload: typeof payload === 'string' ? Buffer.from(payload) : encode(payload), retain })
const inc = incarnationAt(Date.now())

t.test('state: the topic names the board; a payload for another is ignored', async (t) => {
  t.match(readState(msg('wisp/boards/b1/state', boardState('b1', inc, 1)), topics), { kind: 'state', state: { id: 'b1' } })
  t.match(readState(msg('wisp/boards/b1/state', boardState('b1', inc, 1), true), topics), { kind: 'state' }, 'a retained status change counts')
  t.match(readState(msg('wisp/boards/b2/state', boardState('b1', inc, 1)), topics), { kind: 'ignore', why: /"b1" published on the topic of "b2"/ })
  t.match(readState(msg('wisp/boards/B!/state', boardState('b1', inc, 1)), topics), { kind: 'ignore' })
  t.match(readState(msg('wisp/boards/b1/state', '{'), topics), { kind: 'ignore', why: /not valid JSON/ })
})

t.test('done: only from a board an attempt went to; an earlier attempt\'s answer wins if it comes first', async (t) => {
  const inv: Invocation = {
    invocation: 'i1', requestId: 'r1', dedupeKey: null, fn: 'f', manifest: buildManifest('f', 'x'), event: null, eventBytes: 4, reply: null,
    receivedAt: 0, deadline: 1, attempt: 1, board: 'b1', sentTo: ['b0', 'b1'], dispatchedAt: 0, timer: null
  }
  const lookup = (id: string): Invocation | undefined => id === 'i1' ? inv : undefined
  const done = (attempt: number, state?: unknown): unknown => ({ v: 1, invocation: 'i1', attempt, reply: { ok: true, result: 1 }, state })
  t.match(readDone(msg('wisp/boards/b1/done', done(1)), topics, lookup), { kind: 'done', inv: { invocation: 'i1' } })
  t.match(readDone(msg('wisp/boards/b2/done', done(1)), topics, lookup), { kind: 'done', inv: null, why: /not sent to b2/ })
  t.match(readDone(msg('wisp/boards/b0/done', done(0)), topics, lookup), { kind: 'done', inv: { invocation: 'i1' } }, 'b0 was sent attempt 0')
  t.match(readDone(msg('wisp/boards/b2/done', done(0)), topics, lookup), { kind: 'done', inv: null, why: /attempt 0 was not sent to b2/ })
  t.match(readDone(msg('wisp/boards/b1/done', done(2)), topics, lookup), { kind: 'done', inv: null, why: /attempt 2 was never sent/ })
  t.match(readDone(msg('wisp/boards/b1/done', done(1), true), topics, lookup), { kind: 'ignore', why: 'retained done' })
  t.match(readDone(msg('wisp/boards/b1/done', { ...done(1) as object, invocation: 'i2' }), topics, lookup), { kind: 'done', inv: null, why: 'late or repeated' })
  const other = readDone(msg('wisp/boards/b2/done', done(1, boardState('b1', inc, 1))), topics, lookup)
  t.equal(other.kind === 'done' ? other.state : 'x', undefined, 'a piggybacked state for another board is dropped')
})
