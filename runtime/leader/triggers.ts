import { randomBytes } from 'node:crypto'
import { encode, type Manifest } from '../protocol/messages.js'
import type { Topics } from '../protocol/topics.js'
import { DEFAULT_TRIGGER_TZ, triggerFilterProblem } from '../protocol/triggers.js'
import type { Clock, TimerHandle } from '../shared/clock.js'
import { WispError, asWispError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import { topicMatches, type InboundMessage, type Transport } from '../transport/transport.js'
import type { Completion } from './leader.js'
import { nextTick } from './schedule.js'
import { TopicSubscriptions } from './topic-subscriptions.js'
import { topicEvent } from './trigger-event.js'
import { TriggerGate } from './trigger-gate.js'

/** What set off a triggered invocation, as its dead letter names it. */
export type TriggerSource =
  | { readonly kind: 'topic', readonly filter: string, readonly topic: string }
  | { readonly kind: 'schedule', readonly scheduled_at: number }

/** Node's timers hold at most 2^31-1 ms: a later tick is waited for in steps. */
const MAX_WAIT_MS = 24 * 3600_000

export interface TriggerDeps {
  readonly transport: Transport
  readonly topics: Topics
  readonly registry: { get: (fn: string) => Manifest | undefined, list: () => Manifest[], onChange: (l: (fn: string) => void) => () => void }
  readonly leader: { submit: (fn: string, event: unknown, requestId: string) => void, onCompletion: (l: (c: Completion) => void) => () => void, durable: () => Promise<void>, readonly opts: { readonly maxEventBytes: number } }
  readonly clock: Clock
  readonly log: Logger
  /**
   * Trigger messages arrive through accept() (the embedded broker's hook, before PUBACK), not by
   * subscription: the runner subscribes to nothing.
   */
  readonly byHook?: boolean
}

/**
 * Runs functions on MQTT messages and on schedules, through the leader's normal invocation
 * path. One subscription per distinct filter; one timer per scheduled function, on the
 * leader's clock, so each tick runs once cluster-wide. A triggered invocation that fails
 * (after the leader's retries), or that a trigger's limits refuse, is published to
 * `<prefix>/dead/<fn>` with its error and what triggered it.
 */
export class TriggerRunner {
  private readonly subs = new TopicSubscriptions()
  private readonly gate = new TriggerGate()
  private readonly timers = new Map<string, TimerHandle>()
  private readonly pending = new Map<string, { fn: string, key: string, source: TriggerSource }>()
  private ops: Promise<void> = Promise.resolve()
  private unlisten: Array<() => void> = []
  private stopped = false

  constructor (private readonly d: TriggerDeps) {}

  async start (): Promise<void> {
    this.unlisten.push(this.d.leader.onCompletion((c) => this.completed(c)))
    this.unlisten.push(this.d.registry.onChange((fn) => this.update(fn)))
    for (const m of this.d.registry.list()) this.update(m.name)
    await this.ops
  }

  async stop (): Promise<void> {
    this.stopped = true
    for (const u of this.unlisten) u()
    for (const t of this.timers.values()) this.d.clock.clearTimeout(t)
    this.timers.clear()
    if (this.d.byHook !== true) for (const f of this.subs.filters) this.enqueue(async () => await this.d.transport.unsubscribe(f))
    await this.ops
  }

  /**
   * A client's message on a topic outside the prefix, from the broker's hook before its PUBACK
   * (with `byHook`): the functions bound to a matching filter are invoked as by a subscription,
   * and this resolves once those invocations are on disk, so a PUBACKed message is never lost.
   */
  async accept (m: InboundMessage): Promise<void> {
    if (this.stopped) return
    let fired = false
    for (const f of this.subs.filters) if (topicMatches(f, m.topic)) { this.onMessage(f, m); fired = true }
    if (fired) await this.d.leader.durable()
  }

  /** The filters the leader is subscribed to for triggers. */
  get filters (): string[] { return this.subs.filters }

  /** Resolves once every subscribe and unsubscribe asked so far is done. */
  async settled (): Promise<void> { await this.ops }

  /** Brings `fn`'s subscriptions and schedule in line with its manifest (or its removal). */
  private update (fn: string): void {
    if (this.stopped) return
    const t = this.d.registry.get(fn)?.triggers
    const filters = (t?.on ?? []).filter((f) => {
      const why = triggerFilterProblem(f, this.d.topics.prefix)
      if (why !== null) this.d.log.warn('trigger refused', { fn, filter: f, why })
      return why === null
    })
    const { add, remove } = this.subs.set(fn, filters)
    if (this.d.byHook !== true) {
      for (const f of remove) this.enqueue(async () => await this.d.transport.unsubscribe(f))
      for (const f of add) this.enqueue(async () => await this.d.transport.subscribe(f, (m) => this.onMessage(f, m), { qos: 1 }))
    }
    const old = this.timers.get(fn)
    if (old !== undefined) { this.d.clock.clearTimeout(old); this.timers.delete(fn) }
    if (t === undefined) this.gate.forget(fn)
    else this.arm(fn, this.d.clock.now())
  }

  private enqueue (op: () => Promise<void>): void {
    this.ops = this.ops.then(op).catch((err: Error) => this.d.log.warn('trigger subscription failed', { err: err.message }))
  }

  private onMessage (filter: string, m: InboundMessage): void {
    const now = this.d.clock.now()
    for (const fn of this.subs.targets(filter, m.topic)) {
      const source: TriggerSource = { kind: 'topic', filter, topic: m.topic }
      let event
      try { event = topicEvent(m, now, this.d.leader.opts.maxEventBytes) } catch (err) {
        this.dead(fn, source, null, asWispError(err, 'WISP_BAD_PAYLOAD'))
        continue
      }
      this.fire(fn, `topic:${filter}`, source, event)
    }
  }

  /** Waits for `fn`'s next tick after `after`. */
  private arm (fn: string, after: number): void {
    const t = this.d.registry.get(fn)?.triggers
    if (t === undefined) return
    let at: number | null
    try { at = nextTick({ every_ms: t.every_ms, cron: t.cron, tz: t.tz ?? DEFAULT_TRIGGER_TZ }, after) } catch (err) {
      this.d.log.warn('schedule refused', { fn, err: (err as Error).message })
      return
    }
    if (at === null) return
    const due = at
    const wait = (): void => {
      const now = this.d.clock.now()
      if (now < due) { this.timers.set(fn, this.d.clock.setTimeout(wait, Math.min(due - now, MAX_WAIT_MS))); return }
      this.timers.delete(fn)
      this.fire(fn, 'schedule', { kind: 'schedule', scheduled_at: due }, { scheduledAt: due, firedAt: now })
      // The next tick after now: ticks missed while the process was stalled or down are skipped.
      if (!this.stopped) this.arm(fn, Math.max(now, due))
    }
    this.timers.set(fn, this.d.clock.setTimeout(wait, Math.min(due - this.d.clock.now(), MAX_WAIT_MS)))
  }

  private fire (fn: string, key: string, source: TriggerSource, event: unknown): void {
    const limits = this.d.registry.get(fn)?.triggers
    if (limits === undefined) return
    const refused = this.gate.admit(fn, key, limits, this.d.clock.now())
    if (refused !== null) { this.dead(fn, source, null, refused); return }
    const requestId = `t${randomBytes(9).toString('base64url')}`
    this.pending.set(requestId, { fn, key, source })
    this.d.leader.submit(fn, event, requestId)
  }

  private completed (c: Completion): void {
    const p = this.pending.get(c.requestId)
    if (p === undefined) return
    this.pending.delete(c.requestId)
    this.gate.finished(p.fn, p.key)
    if (!c.reply.ok) this.dead(p.fn, p.source, c.requestId, new WispError(c.reply.error.code, c.reply.error.message), c.board)
  }

  private dead (fn: string, source: TriggerSource, requestId: string | null, err: WispError, board: string | null = null): void {
    // A refusal by the trigger's own limits is logged quietly: under a flood it would be one line per message.
    const log = requestId === null ? this.d.log.debug : this.d.log.warn
    log.call(this.d.log, 'triggered invocation failed', { fn, code: err.code, ...(source.kind === 'topic' ? { topic: source.topic } : { scheduled_at: source.scheduled_at }) })
    const letter = {
      v: 1, fn, request_id: requestId, error: err.toJSON(), board, at: this.d.clock.now(),
      trigger: source.kind === 'topic' ? { kind: 'topic', filter: source.filter } : { kind: 'schedule' },
      ...(source.kind === 'topic' ? { topic: source.topic } : { scheduled_at: source.scheduled_at })
    }
    this.d.transport.publish(this.d.topics.dead(fn), encode(letter), { qos: 1 })
      .catch((e: Error) => this.d.log.warn('dead letter publish failed', { fn, err: e.message }))
  }
}
