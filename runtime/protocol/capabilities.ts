import { z } from 'zod'
import { ERROR_CODES, type ErrorCode } from '../shared/errors.js'
import { DEFAULT_MAX_EVENT_BYTES, MAX_MESSAGE_BYTES, PROTOCOL_VERSION, parseWith } from './messages.js'
import { NAME_RE, NAME_RULE, REQ_RE } from './topics.js'

/**
 * A handler's capabilities (`context.publish`, `context.kv`, `context.invoke`), as the board
 * asks the gateway for them on `<prefix>/boards/<id>/cap` and hears back on `.../cap-reply`.
 * The same schema is checked twice: by the isolate host before anything leaves the board, and
 * by the gateway, which trusts nothing the board says beyond its authenticated board id.
 */
export const CAP_LIMITS = Object.freeze({
  /** Capability calls one invocation (one attempt of it) may make. */
  callsPerInvocation: 64,
  /** Capability calls of one invocation waiting for their reply at once. */
  pendingPerInvocation: 8,
  /** A published payload, UTF-8 bytes. */
  publishBytes: 64 * 1024,
  /** A KV key, UTF-8 bytes. */
  keyBytes: 256,
  /** A KV value, as JSON, UTF-8 bytes. */
  valueBytes: 64 * 1024,
  /** Keys one `kv.list` returns at most (in key order). */
  listKeys: 1000,
  /** The longest KV time to live, ms (one year). */
  maxTtlMs: 365 * 24 * 3600_000,
  /** Chained invokes: an invocation made by `context.invoke` is one level deeper than its caller. */
  chainDepth: 4,
  /** The event of a chained invoke, as JSON, UTF-8 bytes. */
  eventBytes: DEFAULT_MAX_EVENT_BYTES
})

const bytesAtMost = (max: number, what: string) => (s: string, ctx: z.RefinementCtx): void => {
  const n = Buffer.byteLength(s, 'utf8')
  if (n > max) ctx.addIssue({ code: 'custom', message: `${what} is ${n} bytes; the limit is ${max}`, params: { tooLarge: true } })
}
const key = z.string().min(1).superRefine(bytesAtMost(CAP_LIMITS.keyBytes, 'the key'))

export const CapCallSchema = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('publish'),
    topic: z.string().min(1).max(1024),
    payload: z.string().superRefine(bytesAtMost(CAP_LIMITS.publishBytes, 'the payload')),
    qos: z.union([z.literal(0), z.literal(1)]).default(0),
    retain: z.boolean().default(false)
  }),
  z.object({ op: z.literal('kv.get'), key }),
  z.object({
    op: z.literal('kv.put'),
    key,
    /** The value as JSON text. */
    value: z.string().superRefine(bytesAtMost(CAP_LIMITS.valueBytes, 'the value')),
    ttl_ms: z.number().int().min(1).max(CAP_LIMITS.maxTtlMs).optional()
  }),
  z.object({ op: z.literal('kv.delete'), key }),
  z.object({ op: z.literal('kv.list'), prefix: z.string().superRefine(bytesAtMost(CAP_LIMITS.keyBytes, 'the prefix')) }),
  z.object({
    op: z.literal('invoke'),
    fn: z.string().regex(NAME_RE, `must be ${NAME_RULE}`),
    /** The event as JSON text. */
    event: z.string().superRefine(bytesAtMost(CAP_LIMITS.eventBytes, 'the event'))
  })
])
export type CapCall = z.infer<typeof CapCallSchema>
export type CapOp = CapCall['op']

export const CapRequestSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  id: z.number().int().min(0),
  invocation: z.string().regex(REQ_RE),
  /** What is left of the run's time on the board, ms: a chained invoke gets no more (nor more than the invocation's deadline). */
  budget_ms: z.number().min(0).max(15 * 60_000),
  /** Checked apart (checkCapCall), so that a bad call is answered with why rather than dropped. */
  call: z.unknown()
})
export type CapRequest = z.infer<typeof CapRequestSchema>

const code = z.string().refine((s): s is ErrorCode => Object.hasOwn(ERROR_CODES, s), 'unknown error code')
export const CapResultSchema = z.union([
  z.object({ ok: z.literal(true), value: z.unknown() }),
  z.object({ ok: z.literal(false), error: z.object({ code, message: z.string().max(2048) }) })
])
export type CapResult =
  | { readonly ok: true, readonly value: unknown }
  | { readonly ok: false, readonly error: { readonly code: ErrorCode, readonly message: string } }

export const CapReplySchema = z.object({ v: z.literal(PROTOCOL_VERSION), id: z.number().int().min(0), result: CapResultSchema })
export type CapReply = { readonly v: 1, readonly id: number, readonly result: CapResult }

export const parseCapRequest = (p: Uint8Array): CapRequest => parseWith(CapRequestSchema, p, 'capability request', MAX_MESSAGE_BYTES.cap)
export const parseCapReply = (p: Uint8Array): CapReply => parseWith(CapReplySchema, p, 'capability reply', MAX_MESSAGE_BYTES['cap-reply']) as CapReply

/** A call as validated on either side; an oversized field is WISP_PAYLOAD_TOO_LARGE, anything else wrong WISP_BAD_PAYLOAD. */
export const checkCapCall = (raw: unknown): { ok: true, call: CapCall } | { ok: false, error: { code: ErrorCode, message: string } } => {
  const r = CapCallSchema.safeParse(raw)
  if (r.success) return { ok: true, call: r.data }
  const issue = r.error.issues[0]
  const where = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.join('.')}: `
  const tooLarge = issue?.code === 'custom' && (issue as { params?: { tooLarge?: boolean } }).params?.tooLarge === true
  return { ok: false, error: { code: tooLarge ? 'WISP_PAYLOAD_TOO_LARGE' : 'WISP_BAD_PAYLOAD', message: `capability call: ${where}${issue?.message ?? 'invalid'}` } }
}

export const capError = (code: ErrorCode, message: string): CapResult => ({ ok: false, error: { code, message: message.slice(0, 2048) } })
