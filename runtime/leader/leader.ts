import type { BoardProfile } from '../../boards/schema.js'
import { encode, type BoardState, type ControlMessage, type Manifest, type OfflineState, type Reply, type RunMessage } from '../protocol/messages.js'
import type { Topics } from '../protocol/topics.js'
import { every, type Clock } from '../shared/clock.js'
import { WispError, refusal } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import type { Rng } from '../shared/rng.js'
import type { InboundMessage, Transport } from '../transport/transport.js'
import { ClusterState } from './cluster-state.js'
import { InflightTable, type Invocation, type ReplyAddress } from './inflight.js'
import type { InflightStorage } from './inflight-store.js'
import { recoverInvocations } from './recover.js'
import { admitInvoke } from './on-invoke.js'
import { ownInvocation } from './own-invocation.js'
import { readDone } from './on-done.js'
import { readState } from './on-state.js'
import { negotiate, SPOKEN_PROTOCOLS } from '../protocol/negotiate.js'
import { clusterFull, expectedWaitMs, missesDeadline } from './overload.js'
import type { BalancePolicy, ClusterView, Decision } from './policies/types.js'
import { DemandTracker } from './demand.js'
import { RateLimiter } from './rate-limit.js'
import type { Registry } from './registry.js'
import { GreenState } from './green/green-state.js'
import { spareAwake } from './policies/green.js'
import { underCap } from './policies/power-cap.js'
import type { Env } from '../protocol/secrets.js'

export interface LeaderOptions {
  /** Gossip older than this marks a board offline. */
  readonly staleMs: number
  /** How long an invocation may wait for a live board before WISP_NO_BOARD. */
  readonly waitMs: number
  /** Extra time after an invocation's deadline before the leader answers WISP_TIMEOUT itself. */
  readonly replyGraceMs: number
  readonly maxEventBytes: number
  readonly statePublishMs: number
  /** Dispatch attempts per invocation (a retry follows a board failure). */
  readonly maxAttempts: number
  /** Invocations in flight at once; past it an invoke is answered WISP_OVERLOADED at once. */
  readonly maxInflight: number
  /**
   * Bytes of events (as they arrived) the leader holds at once, in flight or waiting for a board;
   * an invoke that would take it past this is answered WISP_OVERLOADED at once (one invocation
   * is always admitted, whatever its size). Without it maxInflight events of maxEventBytes each
   * (2.5 GB by default) could be held in the gateway's memory.
   */
  readonly maxInflightBytes: number
  /** Per-client token bucket for invokes (tokens/s and bucket size); past it WISP_RATE_LIMITED. */
  readonly invokeRatePerClient: number
  readonly invokeBurstPerClient: number
  /** Honour MQTT 5 Response Topics outside the prefix: only with a broker without accounts (SECURITY.md). */
  readonly replyOutsidePrefix: boolean
  /** Invocations of one function a board holds at most (the boards' `queue_limit`): past it on every live board, WISP_OVERLOADED at once. */
  readonly queueLimit: number
}

export const DEFAULT_LEADER_OPTIONS: LeaderOptions = Object.freeze({
  staleMs: 3500, waitMs: 10_000, replyGraceMs: 2000, maxEventBytes: 256 * 1024, statePublishMs: 2000, maxAttempts: 3,
  maxInflight: 10_000, maxInflightBytes: 16 * 1024 * 1024, invokeRatePerClient: 1000, invokeBurstPerClient: 2000, replyOutsidePrefix: false, queueLimit: 256
})

/** How often the leader sweeps for quiet boards, dispatches waiting invocations and may publish its state. */
export const LEADER_TICK_MS = 250

export interface Completion {
  readonly fn: string
  readonly requestId: string
  /** The topic the reply is published on (`<prefix>/result/<client>/<fn>/<req>` or a v5 response topic); null for the leader's own invocations. */
  readonly replyTopic: string | null
  readonly board: string | null
  readonly reply: Reply
  readonly totalMs: number
  /** The handler's log lines, as the board sent them (bounded there). */
  readonly logs?: readonly string[]
}

export interface LeaderDeps {
  readonly transport: Transport
  readonly topics: Topics
  readonly registry: Registry
  readonly clock: Clock
  readonly rng: Rng
  readonly balance: BalancePolicy
  readonly profiles: ReadonlyMap<string, BoardProfile>
  readonly log: Logger
  readonly options?: Partial<LeaderOptions>
  /** Persists the in-flight table and dedupe window; without it a restart forgets them. */
  readonly store?: InflightStorage
  /** A function's secrets for its run messages (`context.env`), when it has any. */
  readonly secrets?: (fn: string) => Env | undefined
  /** Invokes arrive through admit() (the embedded broker's hook, before PUBACK), not by subscription. */
  readonly invokesByHook?: boolean
  /** Carbon signal, prices and the energy learner; absent = zero intensity, free, learning anyway. */
  readonly green?: GreenState
  /** Clustered: this leader's fencing token (lease.ts), sent in every `run` and `control`. */
  readonly fence?: number
}

/**
 * Routes invocations to boards and relays exactly one reply per request. It sees every
 * invocation and completion, so it keeps exact in-flight accounting per board.
 */
export class Leader {
  readonly cluster: ClusterState
  readonly opts: LeaderOptions
  private readonly inflight = new InflightTable()
  readonly demand = new DemandTracker()
  /** Called when an invocation finds no routable board (the power controller may wake one). */
  onStarved: (fn: string) => void = () => {}
  /** Called when a board's gossip went quiet (not a clean offline): the power controller may cycle it. */
  onStale: (board: string) => void = () => {}
  private readonly decisions: Decision[] = []
  private readonly decisionCounts = new Map<string, number>()
  private readonly listeners = new Set<(c: Completion) => void>()
  private readonly incompatibleBoards = new Map<string, { incarnation: string, proto: readonly number[], version: string | null }>()
  private stopTick: (() => void) | null = null
  /**
   * Replies published and not yet known written, by reply topic: the invocations they answer, in
   * publish order (the broker writes one topic's messages to a session in that order; several
   * requests may share a reply topic, as MQTT 5 clients sharing a Response Topic do).
   */
  private readonly replying = new Map<string, string[]>()
  /** Invocations replyWritten() forgot before their publish settled. */
  private readonly forgotten = new Set<string>()
  private lastStatePublish = 0
  private readonly rate: RateLimiter
  readonly green: GreenState

  constructor (private readonly d: LeaderDeps) {
    this.opts = Object.freeze({ ...DEFAULT_LEADER_OPTIONS, ...d.options })
    this.cluster = new ClusterState(d.clock, d.profiles, this.opts.staleMs)
    this.rate = new RateLimiter(this.opts.invokeRatePerClient, this.opts.invokeBurstPerClient)
    this.green = d.green ?? new GreenState()
  }

  async start (): Promise<void> {
    const { transport: t, topics } = this.d
    if (this.d.store !== undefined) await this.recover(this.d.store)
    await t.subscribe(topics.boardFilter('state'), (m) => this.guard('state', m, () => this.onState(m)), { qos: 0 })
    await t.subscribe(topics.boardFilter('done'), (m) => this.guard('done', m, () => this.onDone(m)))
    await t.subscribe(topics.gridCarbon(), (m) => this.guard('carbon', m, () => { if (!m.retain || m.payload.length > 0) this.green.setup.book.apply(m.payload, this.d.clock.now()) }))
    await t.subscribe(topics.gridCap(), (m) => this.guard('cap', m, () => { if (!m.retain || m.payload.length > 0) this.green.applyCap(m.payload) }))
    if (this.d.invokesByHook !== true) await t.subscribe(topics.invokeFilter, (m) => this.guard('invoke', m, () => this.onInvoke(m)))
    this.stopTick = every(this.d.clock, LEADER_TICK_MS, () => this.guardTimer('tick', () => this.tick()))
  }

  async stop (): Promise<void> {
    this.stopTick?.()
    this.stopTick = null
  }

  recentDecisions (): readonly Decision[] { return this.decisions }
  /** Decisions made since start, by `kind\u0000policy`. */
  decisionTotals (): ReadonlyMap<string, number> { return this.decisionCounts }

  /** The cluster as the policies see it: boards from gossip plus per-function demand. */
  policyView (consumeArrivals = false): ClusterView {
    return { ...this.cluster.view(), fns: this.demand.view(this.d.registry.list(), this.inflight.byFn, consumeArrivals, this.opts.queueLimit) }
  }

  /**
   * The view the balancer routes an invocation of `m` on: the boards kept incrementally, and
   * demand with `m`'s entry current (others as of their last dispatch or the last scale tick),
   * so routing costs no pass over every board or function. Valid until the next event.
   */
  dispatchView (m: Manifest): ClusterView {
    return this.cluster.transientView(this.demand.current(m, this.inflight.byFn, () => this.d.registry.list()))
  }

  recordDecision (d: Decision): void { this.record(d) }

  async control (board: string, msg: ControlMessage): Promise<void> {
    await this.d.transport.publish(this.d.topics.board(board, 'control'), encode(this.d.fence === undefined ? msg : { ...msg, fence: this.d.fence }), { qos: 1 })
  }
  inflightCount (): number { return this.inflight.size }
  /** The invocation `id` if the leader has sent it to `board` and waits for its answer (capability calls are checked against it). */
  runningOn (id: string, board: string): Invocation | undefined {
    const inv = this.inflight.get(id)
    return inv !== undefined && inv.board === board ? inv : undefined
  }
  /** Invocations of `fn` in flight (accepted, not yet answered). */
  inflightOf (fn: string): number { return this.inflight.byFn.get(fn) ?? 0 }
  onCompletion (l: (c: Completion) => void): () => void { this.listeners.add(l); return () => this.listeners.delete(l) }

  /** A timer callback that throws would be an uncaught exception: the whole gateway process. */
  private guardTimer (what: string, fn: () => void): void {
    try { fn() } catch (err) { this.d.log.error(`${what} failed`, { err: (err as Error).message }) }
  }

  /** Resolves once every invocation accepted so far is on disk (at once without a store). */
  async durable (): Promise<void> { await this.d.store?.durable() }

  /** Admits one invoke; resolves once what it accepted is on disk (see accept-hook.ts). */
  async admit (m: InboundMessage): Promise<void> {
    this.guard('invoke', m, () => this.onInvoke(m))
    await this.d.store?.durable()
  }

  /** A malformed message must never take the leader down. */
  private guard (what: string, m: InboundMessage, fn: () => void): void {
    try { fn() } catch (err) { this.d.log.warn(`bad ${what} message ignored`, { topic: m.topic, err: (err as Error).message }) }
  }

  private onInvoke (m: InboundMessage): void {
    const now = this.d.clock.now()
    const out = admitInvoke(m, {
      topics: this.d.topics,
      manifest: (fn) => this.d.registry.get(fn),
      now,
      waitMs: this.opts.waitMs,
      maxEventBytes: this.opts.maxEventBytes,
      isDuplicate: (k) => this.inflight.isDuplicate(k, now),
      full: (bytes) => this.tableFull(bytes),
      withinRate: (client) => this.rate.take(client, now),
      replyOutsidePrefix: this.opts.replyOutsidePrefix
    })
    if (out.kind === 'ignore') { this.d.log.debug('invoke ignored', { topic: m.topic, why: out.why }); return }
    if (out.kind === 'reject') {
      const reply: Reply = { ok: false, error: out.error.toJSON() }
      this.emit({ fn: out.fn, requestId: out.requestId, replyTopic: out.reply?.topic ?? null, board: null, reply, totalMs: 0 })
      if (out.reply !== null) void this.send(out.reply, reply)
      return
    }
    let inv = out.invocation
    const v = this.green.variant(() => this.dispatchView(inv.manifest), inv.manifest, inv.options, (fn) => this.d.registry.get(fn))
    if (v !== null) {
      this.d.log.debug('variant', { fn: inv.fn, runs: v.fn, reason: v.reason })
      inv = { ...inv, fn: v.fn, manifest: v.manifest, variantOf: inv.fn }
    }
    this.begin(inv, now)
  }

  /**
   * Invokes `fn` on the leader's own behalf (a trigger or a schedule): the same admission,
   * dispatch and retries as an invoke, with no reply address. Every outcome, a refusal
   * included, reaches the completion listeners under `requestId`.
   */
  submit (fn: string, event: unknown, requestId: string, chain?: { readonly deadline: number, readonly depth: number }): void {
    const now = this.d.clock.now()
    const manifest = this.d.registry.get(fn)
    const refuse = (err: WispError): void => this.emit({ fn, requestId, replyTopic: null, board: null, reply: { ok: false, error: err.toJSON() }, totalMs: 0 })
    if (manifest === undefined) { refuse(new WispError('WISP_UNKNOWN_FUNCTION', `no function "${fn}" is deployed`)); return }
    const eventBytes = Buffer.byteLength(JSON.stringify(event) ?? 'null')
    if (this.tableFull(eventBytes)) { refuse(refusal('WISP_OVERLOADED', 'the leader holds as many invocations (or event bytes) in flight as it may')); return }
    this.begin(ownInvocation({ fn, manifest, event, eventBytes, requestId, now, waitMs: this.opts.waitMs, ...chain }), now)
  }

  /** Whether one more invocation with an event of `bytes` would pass maxInflight or maxInflightBytes (one is always admitted). */
  private tableFull (bytes: number): boolean {
    return this.inflight.size >= this.opts.maxInflight || (this.inflight.size > 0 && this.inflight.bytes + bytes > this.opts.maxInflightBytes)
  }

  private begin (inv: Invocation, now: number): void {
    this.demand.arrive(inv.fn)
    const view = this.cluster.transientView()
    const full = clusterFull(view, inv.fn, this.opts.queueLimit)
    // A deferrable invocation waits for its window by design: only the others are held to the queue's expected wait.
    const waitMs = full || inv.options?.deferrable === true ? null : expectedWaitMs(view, inv.fn)
    if (full || missesDeadline(waitMs, inv.deadline - now)) {
      const why = full
        ? `every live board's queue for "${inv.fn}" is full (${this.opts.queueLimit} each)`
        : `"${inv.fn}" would wait about ${Math.round(waitMs ?? 0)} ms for a core, past its deadline (${Math.round(inv.deadline - now)} ms away)`
      const reply: Reply = { ok: false, error: refusal('WISP_OVERLOADED', why).toJSON() }
      this.onStarved(inv.fn) // a gated board may wake for the next ones
      this.emit({ fn: inv.fn, requestId: inv.requestId, replyTopic: inv.reply?.topic ?? null, board: null, reply, totalMs: 0 })
      if (inv.reply !== null) void this.send(inv.reply, reply)
      return
    }
    if (inv.options !== undefined) {
      const view = this.dispatchView(inv.manifest)
      try {
        this.green.routeView(view, inv.fn, inv.options, inv.deadline)
      } catch (err) {
        const reply: Reply = { ok: false, error: (err instanceof WispError ? err : new WispError('WISP_BAD_PAYLOAD', String(err))).toJSON() }
        this.emit({ fn: inv.fn, requestId: inv.requestId, replyTopic: inv.reply?.topic ?? null, board: null, reply, totalMs: 0 })
        if (inv.reply !== null) void this.send(inv.reply, reply)
        return
      }
      const deferral = this.green.deferral(view, inv.fn, inv.options, inv.deadline, this.d.rng)
      if (deferral !== null) { inv.notBefore = deferral.notBefore; inv.latestStart = deferral.latestStart }
    }
    this.track(inv, now)
    // A deferred invocation waits at the leader; the tick dispatches it once its window opens and an awake board has a free core.
    if (this.held(inv, now)) return
    this.dispatch(inv)
  }

  private track (inv: Invocation, now: number): void {
    this.inflight.add(inv, now)
    const stored = this.d.store?.accepted(inv, now)
    if (stored !== undefined) inv.stored = stored
    inv.timer = this.d.clock.setTimeout(() => this.guardTimer('expiry', () => this.expire(inv.invocation)), inv.deadline - now + this.opts.replyGraceMs)
  }

  /** What a previous run of the gateway accepted and did not answer: run it again, or answer it now. */
  private async recover (store: InflightStorage): Promise<void> {
    const now = this.d.clock.now()
    const r = recoverInvocations(await store.recover(now), { now, graceMs: this.opts.replyGraceMs, manifest: (fn) => this.d.registry.get(fn) })
    for (const [key, at] of r.seen) this.inflight.remember(key, at)
    for (const a of r.answer) {
      this.emit({ fn: a.fn, requestId: a.requestId, replyTopic: a.to?.topic ?? null, board: null, reply: a.reply, totalMs: now - a.receivedAt })
      void (a.to !== null ? this.send(a.to, a.reply) : Promise.resolve()).then(() => store.answered(a.invocation))
    }
    for (const inv of r.resume) this.track(inv, now) // dispatched when boards report in
    if (r.resume.length + r.answer.length > 0) this.d.log.info('recovered in-flight invocations', { resumed: r.resume.length, answered: r.answer.length })
  }

  /** Picks a board with the balance policy and sends `run`; with none live the invocation waits. */
  private dispatch (inv: Invocation): void {
    const now = this.d.clock.now()
    let view = this.dispatchView(inv.manifest)
    try { view = this.green.routeView(view, inv.fn, inv.options, inv.deadline) } catch (err) {
      this.finish(inv, { ok: false, error: (err instanceof WispError ? err : new WispError('WISP_BAD_PAYLOAD', String(err))).toJSON() })
      return
    }
    const decision = this.d.balance.pick(view, inv.fn, this.d.rng)
    this.record(decision)
    if (decision.choice === null) {
      inv.board = null
      // Deferrable work waits for an awake board rather than wake one, until it must start.
      if (inv.latestStart === undefined || now >= inv.latestStart) this.onStarved(inv.fn)
      return
    }
    inv.board = decision.choice
    inv.sentTo.push(decision.choice)
    inv.dispatchedAt = now
    this.cluster.addInflight(decision.choice, inv.fn, 1)
    const run: RunMessage = {
      v: 1, invocation: inv.invocation, request_id: inv.requestId, fn: inv.fn, sha256: inv.manifest.sha256,
      event: inv.event, budget_ms: Math.max(0, inv.deadline - now), attempt: inv.attempt,
      ...(this.d.fence === undefined ? {} : { fence: this.d.fence })
    }
    const env = this.d.secrets?.(inv.fn)
    if (env !== undefined) run.env = env
    let payload: Buffer
    try { payload = encode(run) } catch (err) {
      this.release(inv)
      this.finish(inv, { ok: false, error: new WispError('WISP_BAD_PAYLOAD', `event cannot be serialised: ${(err as Error).message}`).toJSON() })
      return
    }
    this.d.transport.publish(this.d.topics.board(decision.choice, 'run'), payload).catch((err: Error) => {
      this.d.log.warn('run publish failed; will retry on another board', { board: decision.choice, err: err.message })
      this.guardTimer('retry', () => { this.release(inv); this.retry(inv) })
    })
  }

  private onDone (m: InboundMessage): void {
    const out = readDone(m, this.d.topics, (id) => this.inflight.get(id))
    if (out.kind === 'ignore') { this.d.log.debug('done ignored', { topic: m.topic, why: out.why }); return }
    // An answer, on time or late, shows the board's slots move: one it was kept from for an overdue run is routed to again.
    const moving = (out.inv !== null || out.why === 'late or repeated') && this.cluster.progress(out.board)
    if (moving) this.d.log.info('board making progress again', { board: out.board })
    if (out.inv !== null) {
      this.release(out.inv)
      this.finish(out.inv, out.reply, out.logs)
    } else if (out.why !== undefined && out.why !== 'late or repeated') this.d.log.warn('done ignored', { topic: m.topic, why: out.why })
    if (out.state !== undefined) this.applyState(out.state)
    else if (moving) this.dispatchWaiting()
  }

  private onState (m: InboundMessage): void {
    const out = readState(m, this.d.topics)
    if (out.kind === 'ignore') { this.d.log.debug('state ignored', { topic: m.topic, why: out.why }); return }
    this.applyState(out.state)
  }

  private applyState (s: BoardState | OfflineState): void {
    if (s.status !== 'offline' && !this.compatible(s)) return
    const outcome = this.cluster.onState(s)
    if (outcome === 'joined') this.d.log.info('board joined', { board: s.id, incarnation: s.incarnation })
    if (outcome === 'future' || outcome === 'full') this.d.log.warn('board state ignored', { board: s.id, incarnation: s.incarnation, why: outcome })
    if (outcome === 'offline') this.boardLost(s.id)
    if (outcome === 'joined' || outcome === 'updated') this.dispatchWaiting()
  }

  /**
   * Protocol negotiation (runtime/protocol/negotiate.ts): a board that shares no protocol version
   * with this gateway is refused (logged once per incarnation, listed by `incompatible()`), never routed to.
   */
  private compatible (s: BoardState): boolean {
    if (negotiate(s.proto) !== null) {
      this.incompatibleBoards.delete(s.id)
      return true
    }
    const seen = this.incompatibleBoards.get(s.id)
    if (seen?.incarnation !== s.incarnation) {
      this.d.log.error('board refused: no protocol version in common', { board: s.id, board_speaks: s.proto, gateway_speaks: SPOKEN_PROTOCOLS, version: s.version })
      if (this.incompatibleBoards.size < 1024 || seen !== undefined) this.incompatibleBoards.set(s.id, { incarnation: s.incarnation, proto: s.proto ?? [], version: s.version ?? null })
    }
    return false
  }

  /** Boards refused for speaking no protocol version this gateway speaks. */
  incompatible (): ReadonlyMap<string, { readonly incarnation: string, readonly proto: readonly number[], readonly version: string | null }> { return this.incompatibleBoards }

  /** A board went offline: its in-flight invocations run again elsewhere (at-least-once). */
  private boardLost (id: string): void {
    this.d.log.warn('board offline', { board: id })
    for (const inv of this.inflight.onBoard(id)) { this.release(inv); this.retry(inv) }
  }

  private retry (inv: Invocation): void {
    if (inv.attempt + 1 >= this.opts.maxAttempts) {
      this.finish(inv, { ok: false, error: { code: 'WISP_NO_BOARD', message: `gave up after ${inv.attempt + 1} attempts: boards failed while running the invocation` } })
      return
    }
    inv.attempt += 1
    void this.d.store?.accepted(inv, this.d.clock.now())
    this.dispatch(inv)
  }

  private dispatchWaiting (): void {
    const now = this.d.clock.now()
    for (const inv of this.inflight.waiting()) {
      if (this.held(inv, now)) continue
      this.dispatch(inv)
      if (inv.board === null && inv.options === undefined) break
    }
  }

  /** A deferrable invocation waits before its window, and after it for a free core on an awake board within the power cap, until its latest start. */
  private held (inv: Invocation, now: number): boolean {
    if (inv.latestStart === undefined || now >= inv.latestStart) return false
    if (inv.notBefore !== undefined && inv.notBefore > now) return true
    const view = this.cluster.view()
    return !spareAwake(view) || !underCap(view, this.green.capW)
  }

  private expire (id: string): void {
    const inv = this.inflight.get(id)
    if (inv === undefined) return
    inv.timer = null
    const err = inv.board === null
      ? new WispError('WISP_NO_BOARD', `no live board took "${inv.fn}" within ${this.opts.waitMs} ms`)
      : new WispError('WISP_TIMEOUT', `board ${inv.board} did not answer "${inv.fn}" before the deadline`)
    // Past the deadline and the grace: the board's slot is stuck as far as the leader knows; route elsewhere until it moves.
    if (inv.board !== null && this.cluster.overdue(inv.board)) {
      this.d.log.warn('board did not answer a run by its deadline; not routed to until it shows progress', { board: inv.board, fn: inv.fn, code: 'WISP_TIMEOUT' })
    }
    this.release(inv)
    this.finish(inv, { ok: false, error: err.toJSON() })
  }

  private release (inv: Invocation): void {
    if (inv.board === null) return
    this.cluster.addInflight(inv.board, inv.fn, -1)
    inv.board = null
  }

  private finish (inv: Invocation, reply: Reply, logs?: readonly string[]): void {
    this.inflight.delete(inv.invocation)
    if (inv.timer !== null) this.d.clock.clearTimeout(inv.timer)
    const totalMs = this.d.clock.now() - inv.receivedAt
    const ranOn = reply.receipt?.board ?? inv.board
    const rec = ranOn === null ? undefined : this.cluster.get(ranOn)
    const profile = rec?.profile
    const metered = rec?.state?.power_unknown !== true
    const out: Reply = reply.receipt !== undefined
      ? { ...reply, receipt: this.green.onReceipt(inv.fn, { ...reply.receipt, total_ms: Math.round(totalMs * 100) / 100, ...(inv.variantOf === undefined ? {} : { function: inv.variantOf, variant: inv.fn }) }, profile, this.d.clock.now(), () => GreenState.refMs(this.dispatchView(inv.manifest), inv.fn), metered) }
      : reply
    if (reply.receipt !== undefined && ranOn !== null) {
      const speed = profile?.speed ?? 1
      const r = reply.receipt
      this.demand.complete(inv.fn, r.run_ms, speed, r.total_ms - r.queue_ms - r.run_ms, r.cold)
      this.cluster.complete(ranOn, inv.fn, reply.receipt.run_ms)
    }
    this.emit({ fn: inv.fn, requestId: inv.requestId, replyTopic: inv.reply?.topic ?? null, board: ranOn, reply: out, totalMs, ...(logs === undefined ? {} : { logs }) })
    // Published only once its acceptance is on disk: a reply that beat it, then a crash, and the
    // client's resend of the invoke (never PUBACKed) would be taken as new and answered again.
    // Forgotten by the store only once the reply is out: a crash in between runs it again rather
    // than lose it (the store journals it synchronously, so that window is the publish itself).
    const to = inv.reply
    const publish = async (): Promise<void> => {
      if (to === null) return
      const waiting = this.replying.get(to.topic)
      if (waiting === undefined) this.replying.set(to.topic, [inv.invocation])
      else waiting.push(inv.invocation)
      await this.send(to, out)
    }
    const sent = inv.stored === undefined ? publish() : inv.stored.then(publish, publish)
    void sent.then(() => {
      // Unless replyWritten() already did, as a persistent session's connection took it.
      if (this.forgotten.delete(inv.invocation)) return
      if (to !== null) this.unqueueReply(to.topic, inv.invocation)
      this.d.store?.answered(inv.invocation)
    })
  }

  /**
   * The broker is about to write a message on `topic` to a persistent session's connection
   * (session-queue.ts `onSend`): if it is a reply, its invocation is forgotten now, before the
   * write, not a broker turn after it; a gateway killed in that turn answered it twice. True
   * when it was a reply.
   */
  replyWritten (topic: string): boolean {
    const waiting = this.replying.get(topic)
    const id = waiting?.shift()
    if (id === undefined) return false
    if (waiting?.length === 0) this.replying.delete(topic)
    this.forgotten.add(id)
    this.d.store?.answered(id)
    return true
  }

  private unqueueReply (topic: string, invocation: string): void {
    const waiting = this.replying.get(topic)
    if (waiting === undefined) return
    const at = waiting.indexOf(invocation)
    if (at >= 0) waiting.splice(at, 1)
    if (waiting.length === 0) this.replying.delete(topic)
  }

  private async send (to: ReplyAddress, reply: Reply): Promise<void> {
    // At the invoke's QoS: a client that invokes and subscribes at QoS 2 gets its reply exactly once
    // even when the broker that delivered it dies before recording the acknowledgment (a clustered
    // gateway's failover, whose survivor resumes the session from Redis); at QoS 1 that reply would
    // come again, identical. Not always 2: aedes 1.x does not downgrade a message to a wildcard
    // subscription's QoS, so a QoS 1 subscriber would pay QoS 2's handshake on every reply.
    await this.d.transport.publish(to.topic, encode(reply), { qos: to.qos ?? 1, correlationData: to.correlationData })
      .catch((err: Error) => this.d.log.warn('reply publish failed', { topic: to.topic, err: err.message }))
  }

  private emit (c: Completion): void {
    for (const l of this.listeners) {
      try { l(c) } catch (err) { this.d.log.warn('completion listener failed', { err: (err as Error).message }) }
    }
  }

  private record (d: Decision): void {
    const key = `${d.kind}\u0000${d.policy}`
    this.decisionCounts.set(key, (this.decisionCounts.get(key) ?? 0) + 1)
    this.decisions.push(d)
    if (this.decisions.length > 200) this.decisions.splice(0, this.decisions.length - 100)
  }

  private tick (): void {
    for (const id of this.cluster.sweep()) { this.boardLost(id); this.onStale(id) }
    this.dispatchWaiting()
    const now = this.d.clock.now()
    if (now - this.lastStatePublish >= this.opts.statePublishMs) {
      this.lastStatePublish = now
      const view = this.cluster.view()
      const state = {
        v: 1,
        ts: Math.round(now),
        inflight: this.inflight.size,
        boards: view.boards.map((b) => ({ id: b.id, profile: b.profile.name, power: b.power, routable: b.routable, queue_len: b.queueLen, inflight: b.inflight, power_w: b.powerW, ...(b.powerUnknown === true ? { power_unknown: true } : {}), service_rate: b.serviceRate })),
        functions: this.d.registry.list().map((f) => f.name),
        decisions: this.decisions.slice(-20)
      }
      this.d.transport.publish(this.d.topics.leaderState(), encode(state), { retain: true, qos: 0 }).catch(() => {})
    }
  }
}
