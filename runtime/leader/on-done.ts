import { parseDone, type BoardState, type OfflineState, type Reply } from '../protocol/messages.js'
import type { Topics } from '../protocol/topics.js'
import type { InboundMessage } from '../transport/transport.js'
import type { Invocation } from './inflight.js'

export type DoneOutcome =
  | { kind: 'ignore', why: string }
  /** `inv` is null when the done is valid but late, repeated or not this board's to give. */
  | { kind: 'done', inv: Invocation | null, reply: Reply, state: BoardState | OfflineState | undefined, why?: string }

/**
 * Turns one message on `<prefix>/boards/<id>/done` into the invocation it completes. A done
 * counts only from the board the run was sent to, for the attempt in flight: another board
 * (or a late answer of an earlier attempt) cannot answer for it. The piggybacked state counts
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
  if (inv === undefined) return { kind: 'done', inv: null, reply: done.reply, state, why: 'late or repeated' }
  if (inv.board !== board) return { kind: 'done', inv: null, reply: done.reply, state, why: `${inv.invocation} was not sent to ${board}` }
  if (inv.attempt !== done.attempt) return { kind: 'done', inv: null, reply: done.reply, state, why: `attempt ${done.attempt} is not the current ${inv.attempt}` }
  return { kind: 'done', inv, reply: done.reply, state }
}
