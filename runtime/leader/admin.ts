import { adminFilter, adminProgressTopic, adminReplyTopic, logsTopic, isAdminClient, isAdminReq, parseAdminRequest, type AdminRequest, type FunctionRow, type LogLine } from '../protocol/admin.js'
import { encode, MAX_DONE_LOG_CHARS, MAX_DONE_LOG_LINES } from '../protocol/messages.js'
import type { Topics } from '../protocol/topics.js'
import type { Clock } from '../shared/clock.js'
import { asWispError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import type { InboundMessage, Transport } from '../transport/transport.js'
import { ADMIN_HANDLERS } from './admin-handlers.js'
import { FnStats } from './fn-stats.js'
import { functionRow, listedManifests } from './fn-listing.js'
import { redactSecrets } from './redact.js'
import { RefusalLog } from './refusal-log.js'
import type { Completion, Leader } from './leader.js'
import { LOG_RING_LINES, LogRing, type LogMirror } from './log-ring.js'
import type { Registry } from './registry.js'
import type { SecretStorage } from './secret-storage.js'
import { Rollout, type Progress, type RolloutBoard, type RolloutRequest } from './upgrade.js'

/** Request ids remembered per gateway run, so a redelivered request is not run twice. */
const SEEN_REQUESTS = 1024

export interface AdminDepsIn {
  readonly transport: Transport
  readonly topics: Topics
  readonly registry: Registry
  readonly secrets: SecretStorage
  readonly leader: Leader
  readonly clock: Clock
  readonly log: Logger
  /** Clustered: the shared copy of the handler logs, read at start. */
  readonly logMirror?: LogMirror
}

/**
 * The gateway's admin requests on `<p>/admin/<client>/<req>` (deploy with acknowledgement,
 * rollback, describe, ls, rm, logs, secret-set/-ls/-rm), each answered once on `…/reply`. It also keeps per-function
 * statistics and handler logs from the leader's completions, and publishes each log line on
 * `<p>/logs/<fn>` for `wisp logs --follow`.
 */
export class AdminService {
  readonly stats = new FnStats()
  readonly logs: LogRing
  private readonly seen = new Set<string>()
  private readonly refusals = new RefusalLog()
  private readonly idleWaiters = new Map<string, Array<() => void>>()
  private stopListening: (() => void) | null = null
  private readonly rollout: Rollout

  constructor (private readonly d: AdminDepsIn) {
    this.logs = new LogRing(LOG_RING_LINES, d.logMirror)
    const cluster = d.leader.cluster
    this.rollout = new Rollout({
      board: (id): RolloutBoard | undefined => {
        const b = cluster.get(id)
        if (b === undefined) return undefined
        return { status: b.status, incarnation: b.incarnation, version: b.state?.version, inflight: b.inflight, workRuns: b.state?.work_runs ?? 0, upgradeError: b.state?.upgrade_error, pong: b.state?.pong }
      },
      boardIds: () => cluster.view().boards.map((b) => b.id),
      control: async (id, msg) => await d.leader.control(id, { v: 1, ...msg }),
      clock: d.clock,
      log: d.log
    })
  }

  async start (): Promise<void> {
    await this.logs.restore()
    this.stopListening = this.d.leader.onCompletion((c) => this.onCompletion(c))
    await this.d.transport.subscribe(adminFilter(this.d.topics.prefix), (m) => { void this.onRequest(m) })
  }

  async stop (): Promise<void> {
    this.stopListening?.()
    await this.d.transport.unsubscribe(adminFilter(this.d.topics.prefix)).catch(() => {})
  }

  private onCompletion (c: Completion): void {
    const at = this.d.clock.now()
    // A failure's message is kept with the function's secret values redacted (they may change later; what is kept must not hold one).
    const failure = c.reply.ok ? null : { ...c.reply.error, message: this.redact(c.fn, c.reply.error.message) }
    this.stats.record(failure === null || c.reply.ok ? c : { ...c, reply: { ...c.reply, error: failure } }, at)
    const cut = (s: string): string => s.length <= MAX_DONE_LOG_CHARS ? s : `${s.slice(0, MAX_DONE_LOG_CHARS - 1)}…`
    // The board sends at most MAX_DONE_LOG_LINES and a line saying how many it left out; a board that sends more is cut here.
    const all = c.logs ?? []
    const texts = all.slice(0, MAX_DONE_LOG_LINES + 1).map(cut)
    if (all.length > MAX_DONE_LOG_LINES + 1) texts.push(`[wisp] ${all.length - MAX_DONE_LOG_LINES - 1} more log lines dropped`)
    const lines: Array<Omit<LogLine, 'seq'>> = texts.map((text) => ({ at, level: 'log', board: c.board, request_id: c.requestId, text }))
    if (failure !== null) {
      // Refusals at admission: one line a second per function and code, with how many were left out.
      const skipped = RefusalLog.isRefusal(c.board, failure.code) && this.d.registry.history(c.fn) !== undefined ? this.refusals.take(c.fn, failure.code, at) : 0
      if (skipped !== null) lines.push({ at, level: 'error', board: c.board, request_id: c.requestId, text: cut(`${failure.code}: ${failure.message}${skipped > 0 ? ` (${skipped} more refused before it, not logged)` : ''}`) })
    }
    if (lines.length > 0 && this.d.registry.history(c.fn) !== undefined) {
      for (const l of this.logs.add(c.fn, lines)) {
        this.d.transport.publish(logsTopic(this.d.topics.prefix, c.fn), encode(l), { qos: 0 }).catch(() => {})
      }
    }
    if (this.d.leader.inflightOf(c.fn) === 0) this.wakeIdle(c.fn)
  }

  /** Every deployed function with its figures and newest failures (secret values redacted), for the cluster page. */
  functions (): FunctionRow[] {
    const src = { registry: this.d.registry, stats: this.stats, env: (fn: string) => this.d.secrets.env(fn) }
    return listedManifests(this.d.registry).map((m) => functionRow(src, m))
  }

  /** `text` with `fn`'s secret values redacted (for what pages show of its failures). */
  redact (fn: string, text: string): string { return redactSecrets(text, this.d.secrets.env(fn)) }

  private wakeIdle (fn: string): void {
    const ws = this.idleWaiters.get(fn)
    this.idleWaiters.delete(fn)
    for (const w of ws ?? []) w()
  }

  /** Resolves once the leader has nothing of `fn` in flight (each in-flight invocation ends by its deadline). */
  private async idle (fn: string): Promise<void> {
    if (this.d.leader.inflightOf(fn) === 0) return
    await new Promise<void>((resolve) => {
      const ws = this.idleWaiters.get(fn) ?? []
      ws.push(resolve)
      this.idleWaiters.set(fn, ws)
    })
  }

  private async onRequest (m: InboundMessage): Promise<void> {
    if (m.retain) return // a retained request would run again on every restart
    const [, , client = '', req = ''] = m.topic.split('/')
    if (!isAdminClient(client) || !isAdminReq(req)) { this.d.log.debug('admin request ignored', { topic: m.topic }); return }
    const key = `${client}/${req}`
    if (this.seen.has(key)) return
    this.seen.add(key)
    if (this.seen.size > SEEN_REQUESTS) this.seen.delete(this.seen.values().next().value as string)
    let reply: unknown
    try {
      const r = parseAdminRequest(m.payload)
      const handler = ADMIN_HANDLERS[r.op] as (d: unknown, r: AdminRequest, by: string) => Promise<unknown>
      const progress = (p: unknown): void => { this.d.transport.publish(adminProgressTopic(this.d.topics.prefix, client, req), encode(p), { qos: 0 }).catch(() => {}) }
      const result = await handler({
        registry: this.d.registry, stats: this.stats, logs: this.logs, secrets: this.d.secrets, idle: async (fn: string) => await this.idle(fn),
        upgrade: async (rr: RolloutRequest, pr: (p: Progress) => void) => await this.rollout.run(rr, pr), progress
      }, r, client)
      reply = { v: 1, ok: true, result }
    } catch (err) {
      const e = asWispError(err, 'WISP_BAD_PAYLOAD')
      reply = { v: 1, ok: false, error: e.toJSON() }
    }
    await this.d.transport.publish(adminReplyTopic(this.d.topics.prefix, client, req), encode(reply), { qos: 1 })
      .catch((err: Error) => this.d.log.warn('admin reply publish failed', { topic: m.topic, err: err.message }))
  }
}
