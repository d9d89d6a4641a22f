import { z } from 'zod'
import { ManifestSchema, parseWith, type Manifest } from './messages.js'
import { NAME_RE, NAME_RULE, REQ_RE } from './topics.js'

/**
 * The gateway's admin requests (deploy acknowledgement, versions, listing, removal, logs):
 * `<p>/admin/<client>/<req>` carries a request, `<p>/admin/<client>/<req>/reply` its one reply.
 * `<client>` is the requester's broker username ("who" of a version). Brokers let only admin
 * accounts publish there (runtime/leader/broker-acl.ts).
 */
export const adminRequestTopic = (prefix: string, client: string, req: string): string => `${prefix}/admin/${client}/${req}`
export const adminReplyTopic = (prefix: string, client: string, req: string): string => `${prefix}/admin/${client}/${req}/reply`
/** Progress of a long request (`upgrade`): one JSON line per step, QoS 0, before its reply. */
export const adminProgressTopic = (prefix: string, client: string, req: string): string => `${prefix}/admin/${client}/${req}/progress`
export const adminFilter = (prefix: string): string => `${prefix}/admin/+/+`
/** Each handler log line the gateway keeps is also published here (QoS 0, not retained) for `wisp logs --follow`. */
export const logsTopic = (prefix: string, fn: string): string => `${prefix}/logs/${fn}`

/** The largest admin request (a deploy carries a manifest of at most 4 KiB; a secret-set a value of at most 4 KiB, maybe escaped). */
export const MAX_ADMIN_REQUEST_BYTES = 32 * 1024
/** How many versions of a function the gateway keeps. */
export const MAX_VERSIONS = 10

const name = z.string().regex(NAME_RE, `must be ${NAME_RULE}`)

export const AdminRequestSchema = z.discriminatedUnion('op', [
  z.object({ v: z.literal(1), op: z.literal('deploy'), manifest: ManifestSchema }),
  z.object({ v: z.literal(1), op: z.literal('rollback'), fn: name, to: z.number().int().min(1).optional() }),
  z.object({ v: z.literal(1), op: z.literal('describe'), fn: name }),
  z.object({ v: z.literal(1), op: z.literal('ls') }),
  z.object({ v: z.literal(1), op: z.literal('rm'), fn: name }),
  z.object({ v: z.literal(1), op: z.literal('logs'), fn: name, since: z.number().optional(), after: z.number().int().optional() }),
  // A secret's name and value are checked by the gateway, so a bad one is WISP_BAD_CONFIG (runtime/protocol/secrets.ts).
  z.object({ v: z.literal(1), op: z.literal('secret-set'), fn: name, name: z.string().max(200), value: z.string() }),
  z.object({ v: z.literal(1), op: z.literal('secret-ls'), fn: name }),
  z.object({ v: z.literal(1), op: z.literal('secret-rm'), fn: name, name: z.string().max(200) }),
  // A fleet upgrade (runtime/leader/upgrade.ts): the version, and for flashed boards the packed tarball they fetch.
  z.object({
    v: z.literal(1),
    op: z.literal('upgrade'),
    to: z.string().min(1).max(64).regex(/^[A-Za-z0-9._+-]+$/, 'must be a version like 1.2.3'),
    package: z.string().min(1).max(1024).optional(),
    boards: z.array(name).min(1).max(2048).optional(),
    timeout_ms: z.number().int().min(1000).max(3_600_000).default(120_000)
  })
])
export type AdminRequest = z.infer<typeof AdminRequestSchema>

export const parseAdminRequest = (p: Uint8Array): AdminRequest => parseWith(AdminRequestSchema, p, 'admin request', MAX_ADMIN_REQUEST_BYTES)

export const isAdminClient = (s: string): boolean => NAME_RE.test(s)
export const isAdminReq = (s: string): boolean => REQ_RE.test(s)

/** One deploy of a function, as the gateway keeps it. */
export interface Version {
  readonly version: number
  readonly sha256: string
  readonly size: number
  /** When the gateway accepted it (ms since the epoch). */
  readonly at: number
  /** The broker username that deployed it; null when unknown (a manifest published directly). */
  readonly by: string | null
  readonly manifest: Manifest
}

/** A function's bounded version history and which of them is current. */
export interface History {
  readonly fn: string
  readonly current: number
  readonly versions: readonly Version[]
}

/** Per-function figures of `wisp ls`, since the gateway started. */
export interface FnStatsView {
  readonly invocations: number
  readonly errors: number
  readonly p50_ms: number | null
  readonly p99_ms: number | null
  readonly energy_mj_per_invocation: number | null
  /** Mean of receipts' `carbon_mg` (three significant digits); null before a receipt carried one. */
  readonly carbon_mg_per_invocation: number | null
  /** Sum of receipts' `carbon_mg` since the gateway started (three significant digits). */
  readonly carbon_mg_total: number | null
}

/** One failed invocation as `wisp describe` and the cluster page show it (secret values redacted). */
export interface FnError {
  readonly code: string
  readonly message: string
  /** When the gateway saw it (ms since the epoch). */
  readonly at: number
  readonly request_id: string
  readonly board: string | null
}

export interface FunctionListing {
  readonly name: string
  readonly version: number | null
  readonly size: number
  readonly sha256: string
  readonly memory_mb: number
  readonly timeout_ms: number
  readonly concurrency: number
  readonly isolation: string
  readonly triggers: Manifest['triggers'] | null
  /** The `--publishes` filters. */
  readonly publishes: readonly string[]
  /** How many versions the gateway keeps of it (at most MAX_VERSIONS). */
  readonly versions_kept: number
  readonly stats: FnStatsView
}

/** A function as the cluster page (`/api/cluster` `functions`) and `wisp describe` show it: its listing and newest failures. */
export interface FunctionRow extends FunctionListing {
  /** Newest first, at most a few. */
  readonly recent_errors: readonly FnError[]
}

export interface LogLine {
  readonly seq: number
  readonly at: number
  readonly level: 'log' | 'error'
  readonly board: string | null
  readonly request_id: string
  readonly text: string
}
