import { parseBoardState, type BoardState, type OfflineState } from '../protocol/messages.js'
import type { Topics } from '../protocol/topics.js'
import type { InboundMessage } from '../transport/transport.js'

export type StateMessageOutcome =
  | { kind: 'ignore', why: string }
  | { kind: 'state', state: BoardState | OfflineState }

/**
 * Turns one message on `<prefix>/boards/<id>/state` into a validated board state. The board
 * is the one the topic names (an ACL can bind a board's account to its topics, never to a
 * payload field): a payload speaking for another board is ignored. Retained states are
 * accepted: a status change and the Last Will are retained on purpose (DESIGN: state topic).
 */
export const readState = (msg: InboundMessage, topics: Topics): StateMessageOutcome => {
  let id: string
  try {
    const t = topics.parse(msg.topic)
    if (t.kind !== 'board' || t.channel !== 'state') return { kind: 'ignore', why: 'not a state topic' }
    id = t.id
  } catch (err) {
    return { kind: 'ignore', why: (err as Error).message }
  }
  let state: BoardState | OfflineState
  try { state = parseBoardState(msg.payload) } catch (err) {
    return { kind: 'ignore', why: (err as Error).message }
  }
  if (state.id !== id) return { kind: 'ignore', why: `state of "${state.id}" published on the topic of "${id}"` }
  return { kind: 'state', state }
}
