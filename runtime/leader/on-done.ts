import { parseDone, type BoardState, type OfflineState, type Reply } from '../protocol/messages.js'
import type { Topics } from '../protocol/topics.js'
import type { InboundMessage } from '../transport/transport.js'
import type { Invocation } from './inflight.js'

export type DoneOutcome =
  | { kind: 'ignore', why: string }
  /** `inv` is null when the done is valid but late, repeated or not this board's to give. */
  | { kind: 'done', board: string, inv: Invocation | null, reply: Reply, state: BoardState | OfflineState | undefined, why?: string, logs?: readonly string[] }

/**
 * Turns one message on `<prefix>/boards/<id>/done` into the invocation it completes. A done
 * counts only from a board the run was sent to: the current attempt's board, or a board that
 * was sent an earlier attempt (first reply wins); another board cannot answer for it. The piggybacked state counts
 * only when it is the publishing board's own.
 */
export const readDone = (msg: InboundMessage, topics: Topics, inflight: (id: string) => Invocation | undefined): DoneOutcome => {
  // MQTT 3.1.1 §3.3.1.3: a retained done would replay on every resubscribe.
  if (msg.retain) return { kind: 'ignore', why: 'retained done' }
  let board: string
  try {
    const t = topics.parse(msg.topic)
    if (t.kind !== 'board' || t.channel !== 'done') return { kind: 'ignore', why: 'not a done topic' }
    board = t.id
  } catch (err) {
    return { kind: 'ignore', why: (err as Error).message }
  }
  let done
  try { done = parseDone(msg.payload) } catch (err) {
    return { kind: 'ignore', why: (err as Error).message }
  }
  const state = done.state !== undefined && done.state.id === board ? done.state : undefined
  const inv = inflight(done.invocation)
  if (inv === undefined) return { kind: 'done', board, inv: null, reply: done.reply, state, why: 'late or repeated' }
  // An earlier attempt's reply is as good as the current one's (a slow board, or one the leader gave up on, finished it):
  // the first reply wins, but only from a board that was sent an attempt.
  if (done.attempt > inv.attempt) return { kind: 'done', board, inv: null, reply: done.reply, state, why: `attempt ${done.attempt} was never sent (current ${inv.attempt})` }
  const sent = done.attempt === inv.attempt ? inv.board === board : inv.sentTo.includes(board)
  if (!sent) return { kind: 'done', board, inv: null, reply: done.reply, state, why: `${inv.invocation} attempt ${done.attempt} was not sent to ${board}` }
  return { kind: 'done', board, inv, reply: done.reply, state, ...(done.logs === undefined ? {} : { logs: done.logs }) }
}
