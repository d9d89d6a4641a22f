import { z } from 'zod'
import { WORK_CLASSES } from '../shared/response-ratio.js'
import { ERROR_CODES, WispError, type ErrorCode } from '../shared/errors.js'
import { deepFreeze } from '../shared/freeze.js'
import { firstIssue } from '../shared/zod-issue.js'
import { INCARNATION_RE } from './incarnation.js'
import { ENVELOPE_DEPTH, MAX_JSON_DEPTH, parseJsonLimited } from './json-limits.js'
import { NAME_RE, NAME_RULE, REQ_RE, SHA256_RE } from './topics.js'
import { TriggersSchema } from './triggers.js'
import { PublishesSchema } from './publishes.js'
import { EnvSchema, MAX_ENV_JSON_BYTES } from './secrets.js'

/** Every message wisp writes carries the protocol version. */
export const PROTOCOL_VERSION = 1 as const
const v = z.literal(PROTOCOL_VERSION)
const name = z.string().regex(NAME_RE, `must be ${NAME_RULE}`)
const reqId = z.string().regex(REQ_RE, 'must be 1-64 of [A-Za-z0-9_-]')
const sha = z.string().regex(SHA256_RE, 'must be a lower-case hex sha256')
const incarnation = z.string().regex(INCARNATION_RE, 'must be a boot time (9 of base 36) and 6-16 hex digits')

export const MAX_CODE_BYTES = 1024 * 1024
/** Log lines of one invocation a board sends with its done, and their length in characters. */
export const MAX_DONE_LOG_LINES = 20
export const MAX_DONE_LOG_CHARS = 512
export const DEFAULT_MAX_EVENT_BYTES = 256 * 1024
/** The largest event or result any configuration allows (board `max_event_bytes` ceiling). */
export const MAX_EVENT_BYTES_CEILING = 2 * 1024 * 1024
/**
 * Largest message of each kind wisp parses (bytes). `run` carries an event and `done` a
 * result (each ≤ the configured event limit) plus a board state; the rest are small by design.
 */
export const MAX_MESSAGE_BYTES = Object.freeze({
  manifest: 8 * 1024,
  control: 4 * 1024,
  state: 128 * 1024,
  run: MAX_EVENT_BYTES_CEILING + 64 * 1024 + MAX_ENV_JSON_BYTES,
  done: MAX_EVENT_BYTES_CEILING + 192 * 1024,
  reply: MAX_EVENT_BYTES_CEILING + 16 * 1024,
  /**
   * A capability request: an invoke's event (≤ DEFAULT_MAX_EVENT_BYTES of JSON text) inside a JSON
   * string, where escaping can make it up to 6 times longer; the agent refuses to send more.
   */
  cap: MAX_EVENT_BYTES_CEILING + 64 * 1024,
  /** Its reply: at most a chained invoke's result. */
  'cap-reply': MAX_EVENT_BYTES_CEILING + 16 * 1024
})

export const ManifestSchema = z.object({
  v,
  name,
  sha256: sha,
  size: z.number().int().min(1).max(MAX_CODE_BYTES),
  memory_mb: z.number().int().min(8).max(2048).default(64),
  timeout_ms: z.number().int().min(1).max(15 * 60_000).default(5000),
  concurrency: z.number().int().min(1).max(1000).default(32),
  isolation: z.enum(['shared', 'context']).default('shared'),
  /** MQTT topics and schedules that invoke the function (runtime/protocol/triggers.ts). */
  triggers: TriggersSchema.optional(),
  /** MQTT topic filters the handler may publish to with `context.publish` (runtime/protocol/capabilities.ts). */
  publishes: PublishesSchema.optional(),
  /** Cheaper deployed functions that may run an invocation of this one instead, when its caller accepts variants (`$wisp.accept_variants`). */
  variants: z.array(name).min(1).max(8).optional()
})
export type Manifest = Readonly<z.infer<typeof ManifestSchema>>

export const ReceiptSchema = z.object({
  request_id: z.string(),
  function: z.string(),
  board: z.string(),
  attempt: z.number().int().min(0),
  cold: z.boolean(),
  queue_ms: z.number(),
  run_ms: z.number(),
  total_ms: z.number(),
  energy_mj: z.number(),
  power_w: z.number(),
  power_source: z.enum(['ina219', 'surrogate']).optional(),
  /** Added by the leader: energy × the grid's carbon intensity at the board when it ran (mg CO2). */
  carbon_mg: z.number().min(0).optional(),
  /** The function that ran when the caller accepted variants (the invoked function itself, or one of its `variants`). */
  variant: z.string().optional(),
  /** Added by the leader: energy and board time at the gateway's configured prices. */
  cost: z.number().min(0).optional()
})
export type Receipt = z.infer<typeof ReceiptSchema>

const codeSchema = z.string().refine((s): s is ErrorCode => Object.hasOwn(ERROR_CODES, s), 'unknown error code')
export const ReplySchema = z.union([
  z.object({ ok: z.literal(true), result: z.unknown(), receipt: ReceiptSchema.optional() }),
  z.object({ ok: z.literal(false), error: z.object({ code: codeSchema, message: z.string() }), receipt: ReceiptSchema.optional() })
])
export type Reply =
  | { ok: true, result: unknown, receipt?: Receipt }
  | { ok: false, error: { code: ErrorCode, message: string }, receipt?: Receipt }

export const FunctionStatsSchema = z.object({
  queue_len: z.number().int().min(0),
  service_rate: z.number().min(0),
  running: z.number().int().min(0),
  runtimes: z.number().int().min(0)
})
export type FunctionStats = z.infer<typeof FunctionStatsSchema>

export const BoardStatusSchema = z.enum(['online', 'draining', 'offline'])
export type BoardStatus = z.infer<typeof BoardStatusSchema>

export const BoardStateSchema = z.object({
  v,
  id: name,
  incarnation,
  profile: z.string().min(1).max(64),
  status: BoardStatusSchema,
  ts: z.number(),
  seq: z.number().int().min(0).default(0),
  power_w: z.number().min(0),
  energy_j: z.number().min(0),
  queue_len: z.number().int().min(0),
  service_rate: z.number().min(0),
  functions: z.record(z.string(), FunctionStatsSchema),
  mem_mb: z.number().min(0),
  status_url: z.string().max(256).optional(),
  power_source: z.enum(['ina219', 'surrogate']),
  /** true: the power sensor keeps failing (WISP_SENSOR), so `power_w` is its last good reading, not the power now; absent = measured. */
  power_unknown: z.literal(true).optional(),
  /** Expected work queued or running (ms at this board's speed). */
  work_ms: z.number().min(0).optional(),
  /** How many runs (queued or running) `work_ms` covers. */
  work_runs: z.number().int().min(0).optional(),
  /** The queued part of it by class of expected run time: class k holds runs of [2^k, 2^(k+1)) ms. */
  queued_ms_by_class: z.array(z.number().min(0)).max(WORK_CLASSES).optional(),
  /** The agent's per-function queue bound (past it WISP_OVERLOADED): the leader spills over before it. */
  queue_limit: z.number().int().min(1).optional(),
  /** The wisp version the board runs (package.json), for `wisp boards --live`. */
  version: z.string().max(64).optional(),
  /** The protocol versions the board speaks (runtime/protocol/negotiate.ts); absent = [1]. */
  proto: z.array(z.number().int().min(1).max(1000)).min(1).max(16).optional(),
  /** Why the board's last `upgrade` failed (it stays draining until told to roll back). */
  upgrade_error: z.string().max(512).optional(),
  /** The nonce of the last `ping` control this state answers. */
  pong: z.string().regex(REQ_RE).optional()
})
export type BoardState = z.infer<typeof BoardStateSchema>

/** The Last Will (and a clean shutdown) publish this smaller form, retained. */
export const OfflineStateSchema = z.object({ v, id: name, incarnation, status: z.literal('offline'), ts: z.number() })
export type OfflineState = z.infer<typeof OfflineStateSchema>

export const RunSchema = z.object({
  v,
  invocation: reqId,
  request_id: z.string().max(200),
  fn: name,
  sha256: sha,
  event: z.unknown(),
  budget_ms: z.number().min(0),
  attempt: z.number().int().min(0),
  /** Clustered gateways: the sending leader's fencing token; a board ignores one lower than the highest it has seen. */
  fence: z.number().int().min(1).optional(),
  /** The function's secrets (`context.env`), when it has any; only ever on this board's run topic. */
  env: EnvSchema.optional()
})
export type RunMessage = z.infer<typeof RunSchema>

export const DoneSchema = z.object({
  v,
  invocation: reqId,
  attempt: z.number().int().min(0),
  reply: ReplySchema,
  state: BoardStateSchema.optional(),
  /** The handler's console/context.log lines (bounded by the board: MAX_DONE_LOG_LINES of MAX_DONE_LOG_CHARS). */
  logs: z.array(z.string()).optional()
})
export type DoneMessage = z.infer<typeof DoneSchema>

export const ControlSchema = z.object({
  v,
  op: z.enum(['warm', 'evict', 'drain', 'shutdown', 'resume', 'upgrade', 'rollback', 'ping']),
  fn: name.optional(),
  /** `upgrade`: the wisp version to install, and where its packed tarball is (a path or an http(s) URL). */
  version: z.string().min(1).max(64).regex(/^[A-Za-z0-9._+-]+$/, 'must be a version like 1.2.3').optional(),
  package: z.string().min(1).max(1024).optional(),
  /** `ping`: echoed as `pong` in the state the board publishes at once. */
  nonce: reqId.optional(),
  runtimes: z.number().int().min(0).max(64).optional(),
  /** As in `run`. */
  fence: z.number().int().min(1).optional()
})
export type ControlMessage = z.infer<typeof ControlSchema>

/**
 * Parses JSON within a size and depth limit and validates it against a schema; returns a
 * deep-frozen value or throws WISP_BAD_PAYLOAD (WISP_PAYLOAD_TOO_LARGE past maxBytes).
 */
export const parseWith = <S extends z.ZodType>(schema: S, payload: Uint8Array, what: string, maxBytes = MAX_MESSAGE_BYTES.done): Readonly<z.infer<S>> => {
  const raw = parseJsonLimited(payload, { maxBytes, maxDepth: MAX_JSON_DEPTH + ENVELOPE_DEPTH }, what)
  const r = schema.safeParse(raw)
  if (!r.success) {
    const { where, message } = firstIssue(r.error)
    throw new WispError('WISP_BAD_PAYLOAD', `${what}: ${where}: ${message}`)
  }
  return deepFreeze(r.data)
}

export const parseManifest = (p: Uint8Array): Manifest => parseWith(ManifestSchema, p, 'manifest', MAX_MESSAGE_BYTES.manifest)
export const parseRun = (p: Uint8Array): RunMessage => parseWith(RunSchema, p, 'run message', MAX_MESSAGE_BYTES.run)
export const parseDone = (p: Uint8Array): DoneMessage => parseWith(DoneSchema, p, 'done message', MAX_MESSAGE_BYTES.done) as DoneMessage
export const parseControl = (p: Uint8Array): ControlMessage => parseWith(ControlSchema, p, 'control message', MAX_MESSAGE_BYTES.control)
export const parseBoardState = (p: Uint8Array): BoardState | OfflineState =>
  parseWith(z.union([BoardStateSchema, OfflineStateSchema]), p, 'board state', MAX_MESSAGE_BYTES.state)

/** An invoke payload: UTF-8 JSON, empty = null, bounded in size and depth. */
export const parseEvent = (p: Uint8Array, maxBytes = DEFAULT_MAX_EVENT_BYTES): unknown => {
  if (p.byteLength === 0) return null
  return parseJsonLimited(p, { maxBytes, maxDepth: MAX_JSON_DEPTH }, 'event')
}

export const encode = (msg: unknown): Buffer => Buffer.from(JSON.stringify(msg))

export const errorReply = (err: WispError, receipt?: Receipt): Reply =>
  receipt === undefined ? { ok: false, error: err.toJSON() } : { ok: false, error: err.toJSON(), receipt }
