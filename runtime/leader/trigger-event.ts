import { parseJsonLimited, MAX_JSON_DEPTH } from '../protocol/json-limits.js'
import { WispError } from '../shared/errors.js'
import type { InboundMessage } from '../transport/transport.js'

/** The event a function triggered by an MQTT message receives. */
export interface TopicEvent {
  readonly topic: string
  /** The payload parsed as JSON when it parses (within the event limits), else the UTF-8 string. */
  readonly payload: unknown
  readonly qos: 0 | 1 | 2
  readonly retain: boolean
  /** When the leader received it (ms since the epoch, the leader's clock). */
  readonly receivedAt: number
}

/** The event a scheduled function receives on each tick (ms since the epoch). */
export interface TickEvent { readonly scheduledAt: number, readonly firedAt: number }

/** Builds the event of one triggering message; WISP_PAYLOAD_TOO_LARGE past `maxBytes`. */
export const topicEvent = (m: InboundMessage, receivedAt: number, maxBytes: number): TopicEvent => {
  if (m.payload.byteLength > maxBytes) throw new WispError('WISP_PAYLOAD_TOO_LARGE', `message on "${m.topic.slice(0, 200)}" is ${m.payload.byteLength} bytes; the event limit is ${maxBytes}`)
  let payload: unknown
  try {
    payload = m.payload.byteLength === 0 ? '' : parseJsonLimited(m.payload, { maxBytes, maxDepth: MAX_JSON_DEPTH }, 'payload')
  } catch {
    payload = m.payload.toString('utf8')
  }
  return { topic: m.topic, payload, qos: m.qos ?? 0, retain: m.retain, receivedAt }
}
