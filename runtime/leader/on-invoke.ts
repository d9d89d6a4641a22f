import { randomBytes } from 'node:crypto'
import { parseEvent, type Manifest } from '../protocol/messages.js'
import type { Topics } from '../protocol/topics.js'
import { WispError, asWispError, refusal } from '../shared/errors.js'
import type { InboundMessage } from '../transport/transport.js'
import type { Invocation, ReplyAddress } from './inflight.js'
import { replyAddress } from './reply-address.js'
import { splitEnvelope } from './green/invoke-options.js'
import type { InvokeOptions } from './policies/green.js'

export type InvokeOutcome =
  | { kind: 'ignore', why: string }
  | { kind: 'reject', reply: ReplyAddress | null, requestId: string, fn: string, error: WispError }
  | { kind: 'accept', invocation: Invocation }

const ID_BYTES = 12
/** Random bytes drawn ahead for 256 ids: one call into the CSPRNG per 256 ids, not per invocation. */
let pool = Buffer.alloc(0)
let taken = 0

/**
 * A random invocation id (96 bits, base64url, fits the `<req>` grammar): no board can guess
 * the id of a run sent to another board. Its bytes come from a pool drawn from the CSPRNG
 * (each byte used once), so an id is as unpredictable as one drawn on its own.
 */
export const newInvocationId = (): string => {
  if (taken + ID_BYTES > pool.length) { pool = randomBytes(ID_BYTES * 256); taken = 0 }
  const id = `i${pool.toString('base64url', taken, taken + ID_BYTES)}`
  taken += ID_BYTES
  return id
}

/**
 * Turns one message on `<prefix>/invoke/...` into an accepted invocation or an error reply.
 * Validation happens once here; what comes out is typed and trusted.
 */
export const admitInvoke = (
  msg: InboundMessage,
  deps: {
    topics: Topics
    manifest: (fn: string) => Manifest | undefined
    now: number
    waitMs: number
    maxEventBytes: number
    isDuplicate: (k: string) => boolean
    /** True when the leader's in-flight table cannot take one more invocation with an event of `bytes` bytes. */
    full?: (bytes: number) => boolean
    /** Takes a token from the client's bucket; false when it is empty. */
    withinRate?: (client: string) => boolean
    /** Honour MQTT 5 Response Topics outside the prefix (an external broker without accounts). */
    replyOutsidePrefix?: boolean
  }
): InvokeOutcome => {
  // Retained invokes would replay on every resubscribe (MQTT 3.1.1 §3.3.1.3): ignore them.
  if (msg.retain) return { kind: 'ignore', why: 'retained invoke' }
  let parsed
  try {
    const t = deps.topics.parse(msg.topic)
    if (t.kind !== 'invoke') return { kind: 'ignore', why: 'not an invoke topic' }
    parsed = t
  } catch (err) {
    return { kind: 'ignore', why: (err as Error).message }
  }
  const requestId = parsed.req ?? newInvocationId()
  let reply: ReplyAddress | null
  try {
    reply = replyAddress(deps.topics, parsed, msg.responseTopic, msg.correlationData, deps.replyOutsidePrefix === true, msg.qos)
  } catch (err) {
    const fallback = parsed.client !== undefined && parsed.req !== undefined ? { topic: deps.topics.result(parsed.client, parsed.fn, parsed.req) } : null
    return { kind: 'reject', reply: fallback, requestId, fn: parsed.fn, error: asWispError(err, 'WISP_UNAUTHORIZED') }
  }
  const dedupeKey = parsed.client !== undefined ? `${parsed.client}/${parsed.fn}/${requestId}` : msg.correlationData !== undefined && reply !== null ? `${reply.topic}#${msg.correlationData.toString('hex')}` : null
  if (dedupeKey !== null && deps.isDuplicate(dedupeKey)) return { kind: 'ignore', why: `duplicate request ${dedupeKey}` }
  // Anonymous invokes (no <client>) share one bucket.
  const client = parsed.client ?? '-'
  if (deps.withinRate !== undefined && !deps.withinRate(client)) {
    return { kind: 'reject', reply, requestId, fn: parsed.fn, error: refusal('WISP_RATE_LIMITED', `client "${client}" is over its invoke rate; retry later`) }
  }
  if (deps.full?.(msg.payload.length) === true) {
    return { kind: 'reject', reply, requestId, fn: parsed.fn, error: refusal('WISP_OVERLOADED', 'the leader holds as many invocations (or bytes of events) as it may; retry later') }
  }
  const manifest = deps.manifest(parsed.fn)
  if (manifest === undefined) {
    return { kind: 'reject', reply, requestId, fn: parsed.fn, error: new WispError('WISP_UNKNOWN_FUNCTION', `no function "${parsed.fn}" is deployed`) }
  }
  let event: unknown
  let options: InvokeOptions | null
  try { ({ event, options } = splitEnvelope(parseEvent(msg.payload, deps.maxEventBytes))) } catch (err) {
    return { kind: 'reject', reply, requestId, fn: parsed.fn, error: asWispError(err, 'WISP_BAD_PAYLOAD') }
  }
  return {
    kind: 'accept',
    invocation: {
      invocation: newInvocationId(),
      requestId,
      dedupeKey,
      fn: parsed.fn,
      manifest,
      event,
      eventBytes: msg.payload.length,
      reply,
      receivedAt: deps.now,
      deadline: deps.now + (options?.deadlineMs ?? deps.waitMs + manifest.timeout_ms),
      attempt: 0,
      board: null,
      sentTo: [],
      dispatchedAt: 0,
      timer: null,
      ...(options === null ? {} : { options })
    }
  }
}
