import type { BoardConfig, BoardProfile } from '../../boards/schema.js'
import {
  encode, MAX_DONE_LOG_CHARS, MAX_DONE_LOG_LINES, errorReply,
  type BoardState, type ControlMessage, type Manifest, type Receipt, type Reply, type RunMessage
} from '../protocol/messages.js'
import type { Topics } from '../protocol/topics.js'
import { every, type Clock } from '../shared/clock.js'
import { WispError, asWispError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import type { InboundMessage, Transport } from '../transport/transport.js'
import type { InvocationRecord } from '../protocol/invocation-record.js'
import type { CodeStore } from './code-store.js'
import type { EnergyPort } from '../../node-firmware-bridge/energy-port.js'
import type { ExecOutcome, Executor } from './executor-port.js'
import { ENVELOPE_DEPTH, MAX_JSON_DEPTH, jsonDepth } from '../protocol/json-limits.js'
import { learnedRunMs } from '../board-model/estimate.js'
import { readControl, readManifest, readRun } from './on-message.js'
import { guarded } from './guarded.js'
import { AdmissionQueue } from './queue.js'
import type { RunPermit, RunScheduler } from './run-scheduler.js'
import { FenceGate } from './fence.js'
import { SeenRuns } from './seen-runs.js'
import { HeldRuns } from './held-runs.js'
import { CapClient } from './cap-client.js'
import { CAP_LIMITS, capError } from '../protocol/capabilities.js'
import { SPOKEN_PROTOCOLS } from '../protocol/negotiate.js'
import type { Installer } from './installer.js'

export { newIncarnation } from '../protocol/incarnation.js'

export interface AgentDeps {
  readonly config: BoardConfig
  readonly profile: BoardProfile
  readonly transport: Transport
  readonly topics: Topics
  readonly executor: Executor
  readonly energy: EnergyPort
  readonly code: CodeStore
  /** Who runs next when every core is busy (response ratio order). */
  readonly scheduler: RunScheduler
  readonly log: Logger
  readonly incarnation: string
  /** What `shutdown` does after the board has said it is offline (the OS power-off, or exit in simulation). */
  readonly powerOff: () => void
  /**
   * Times gossip, run budgets, the wait for a manifest and the drain before a shutdown, and
   * stamps states and receipts. The isolate runtime keeps to the wall clock (it runs real code).
   */
  readonly clock: Clock
  /** The wisp version this board runs, gossiped in its state. */
  readonly version?: string
  /** What `upgrade` and `rollback` controls do; without one the board refuses them (logged). */
  readonly installer?: Installer
}

/**
 * A `done` carries the board's state when it tells the leader something new (the board became
 * busy or idle, or its number of warm runtimes changed) or the last piggybacked state is at
 * least this old (ms of the agent's clock): parsing a full state with every done was a tenth of
 * the gateway's CPU under load, building and encoding it a share of the agent's. Gossip still
 * sends it every gossip_ms.
 */
export const DONE_STATE_MS = 50

/** How long a `shutdown` waits for running invocations to finish before the board goes offline anyway. */
export const SHUTDOWN_DRAIN_MS = 30_000

/**
 * The board agent: takes `run` messages, admits them, runs them in the isolate runtime, and
 * publishes `done` with the reply, an energy receipt and its piggybacked state.
 */
export class Agent {
  private readonly manifests = new Map<string, Manifest>()
  private readonly manifestWaiters = new Map<string, Array<() => void>>()
  private readonly queue: AdmissionQueue
  private readonly recent: InvocationRecord[] = []
  private readonly seenRuns = new SeenRuns()
  private readonly heldRuns = new HeldRuns()
  private readonly fence = new FenceGate()
  private readonly listeners = new Set<() => void>()
  private readonly completionListeners = new Set<(r: InvocationRecord) => void>()
  private status: 'online' | 'draining' | 'offline' = 'online'
  private seq = 0
  private stopGossip: (() => void) | null = null
  private running = 0
  private drainWaiters: Array<() => void> = []
  /** What the last state piggybacked on a done said, and when. */
  private piggybacked = { at: -Infinity, busy: false, runtimes: -1 }
  /** Why the last upgrade failed, gossiped until a rollback or another upgrade. */
  private upgradeError: string | undefined
  private pong: string | undefined

  private readonly caps: CapClient

  constructor (private readonly d: AgentDeps) {
    this.queue = new AdmissionQueue(d.config.queue_limit, d.clock)
    this.caps = new CapClient({ transport: d.transport, topics: d.topics, board: d.config.id, clock: d.clock, log: d.log })
  }

  async start (): Promise<void> {
    const { transport: t, topics, config } = this.d
    await t.subscribe(topics.functionsFilter, (m) => this.guard(m, () => this.onManifest(m)))
    await t.subscribe(topics.board(config.id, 'run'), (m) => this.guard(m, () => this.onRun(m)))
    await t.subscribe(topics.board(config.id, 'control'), (m) => this.guard(m, () => this.onControl(m)))
    await this.caps.start()
    await this.publishStatus()
    // The Last Will of the connection just lost (retained: offline) may have replaced the status:
    // after a reconnect, maybe through another gateway, the retained status says this board is here.
    t.onReconnect?.(() => { if (this.status !== 'offline') this.publishStatus().catch(() => {}) })
    this.stopGossip = every(this.d.clock, config.gossip_ms, guarded(this.d.log, 'gossip', () => { this.gossip() }))
  }

  async stop (): Promise<void> {
    this.stopGossip?.()
    this.stopGossip = null
    this.status = 'offline'
    this.caps.close()
    await this.d.transport.publish(this.d.topics.board(this.d.config.id, 'state'), encode(this.offlineState()), { retain: true }).catch(() => {})
  }

  state (): BoardState {
    const runtimes = this.d.executor.stats()
    const totals = this.queue.totals()
    const work = this.d.scheduler.work()
    return {
      v: 1,
      id: this.d.config.id,
      incarnation: this.d.incarnation,
      profile: this.d.profile.name,
      status: this.status,
      ts: Math.round(this.d.clock.now()),
      seq: ++this.seq,
      ...this.power(),
      queue_len: totals.queueLen,
      service_rate: totals.serviceRate,
      functions: this.queue.stats(runtimes),
      mem_mb: round(this.d.executor.memMb()),
      status_url: this.d.config.status_url,
      work_ms: round(work.workMs),
      work_runs: work.runs,
      queued_ms_by_class: work.queuedByClass.map(round),
      queue_limit: this.d.config.queue_limit,
      ...(this.d.version === undefined ? {} : { version: this.d.version }),
      proto: [...SPOKEN_PROTOCOLS],
      ...(this.upgradeError === undefined ? {} : { upgrade_error: this.upgradeError }),
      ...(this.pong === undefined ? {} : { pong: this.pong })
    }
  }

  /**
   * The power part of the state. A sensor that keeps failing marks the power unknown, and a meter
   * that throws here does not stop the gossip (the board would look dead to the leader).
   */
  private power (): Pick<BoardState, 'power_w' | 'energy_j' | 'power_source' | 'power_unknown'> {
    const e = this.d.energy
    try {
      const known = e.powerKnown?.() ?? true
      return { power_w: round(e.powerW()), energy_j: round(e.energyJ()), power_source: e.source, ...(known ? {} : { power_unknown: true as const }) }
    } catch (err) {
      this.d.log.error('power meter failed', { code: 'WISP_SENSOR', error: (err as Error)?.message ?? String(err) })
      return { power_w: 0, energy_j: 0, power_source: 'surrogate', power_unknown: true }
    }
  }

  /** Newest first. */
  recentInvocations (): readonly InvocationRecord[] { return [...this.recent].reverse() }
  onChange (l: () => void): () => void { this.listeners.add(l); return () => this.listeners.delete(l) }
  onCompletion (l: (r: InvocationRecord) => void): () => void { this.completionListeners.add(l); return () => this.completionListeners.delete(l) }

  private guard (m: InboundMessage, fn: () => void): void {
    try { fn() } catch (err) { this.d.log.warn('bad message ignored', { topic: m.topic, err: (err as Error).message }) }
  }

  private offlineState (): { v: 1, id: string, incarnation: string, status: 'offline', ts: number } {
    return { v: 1, id: this.d.config.id, incarnation: this.d.incarnation, status: 'offline', ts: Math.round(this.d.clock.now()) }
  }

  /** Status changes are retained so a newcomer sees the last known status (DESIGN: state topic). */
  private async publishStatus (): Promise<void> {
    await this.d.transport.publish(this.d.topics.board(this.d.config.id, 'state'), encode(this.state()), { retain: true })
  }

  private gossip (): void {
    this.d.transport.publish(this.d.topics.board(this.d.config.id, 'state'), encode(this.state()), { qos: 0 }).catch(() => {})
    this.changed()
  }

  private onManifest (m: InboundMessage): void {
    const r = readManifest(m, this.d.topics)
    if (r.kind === 'ignore') { this.d.log.debug('manifest ignored', { topic: m.topic, why: r.why }); return }
    const { fn, manifest } = r.value
    if (manifest === null) { this.manifests.delete(fn); this.d.executor.evict(fn); return }
    const prev = this.manifests.get(manifest.name)
    this.manifests.set(manifest.name, manifest)
    if (prev !== undefined && prev.sha256 !== manifest.sha256) this.d.executor.evict(manifest.name)
    for (const w of this.manifestWaiters.get(manifest.name) ?? []) w()
    this.manifestWaiters.delete(manifest.name)
  }

  /** The leader may route a function before its retained manifest reaches a new board. */
  private async manifestFor (fn: string, sha: string, waitMs: number): Promise<Manifest> {
    const clock = this.d.clock
    const deadline = clock.now() + waitMs
    for (let i = 0; i < 3; i++) {
      const m = this.manifests.get(fn)
      if (m !== undefined && m.sha256 === sha) return m
      const left = deadline - clock.now()
      if (left <= 0) break
      await new Promise<void>((resolve) => {
        const timer = clock.setTimeout(resolve, left)
        const list = this.manifestWaiters.get(fn) ?? []
        list.push(() => { clock.clearTimeout(timer); resolve() })
        this.manifestWaiters.set(fn, list)
      })
    }
    const m = this.manifests.get(fn)
    if (m !== undefined && m.sha256 === sha) return m
    throw new WispError('WISP_UNKNOWN_FUNCTION', `board ${this.d.config.id} has no manifest for "${fn}" at ${sha.slice(0, 12)}`)
  }

  private onRun (m: InboundMessage): void {
    const r = readRun(m)
    if (r.kind === 'ignore') { this.d.log.debug('run ignored', { topic: m.topic, why: r.why }); return }
    const run = r.value
    if (!this.fence.admit(run.fence)) { this.d.log.warn('run from a deposed leader ignored', { invocation: run.invocation, fence: run.fence, highest: this.fence.seen }); return }
    if (!this.seenRuns.first(run.invocation, run.attempt)) { this.d.log.debug('dropping a repeated run', { invocation: run.invocation, attempt: run.attempt }); return }
    const prior = this.heldRuns.absorb(run.invocation, run.attempt)
    if (prior === 'held') { this.d.log.debug('a retry of a run this board holds: that run answers for it', { invocation: run.invocation, attempt: run.attempt }); return }
    if (prior !== null) {
      this.d.log.debug('a retry of a run this board answered: the answer is sent again', { invocation: run.invocation, attempt: run.attempt })
      this.d.transport.publish(this.d.topics.board(this.d.config.id, 'done'), this.encodeDone(run, prior.reply, prior.logs), { qos: 1 })
        .catch((err: Error) => this.d.log.warn('done publish failed', { invocation: run.invocation, err: err.message }))
      return
    }
    if (run.budget_ms <= 0) { this.d.log.debug('dropping a run past its budget', { invocation: run.invocation }); return }
    this.execute(run, this.d.clock.now()).catch((err: Error) => this.d.log.error('run failed outside its handler', { invocation: run.invocation, err: err.message }))
  }

  private async execute (run: RunMessage, receivedAt: number): Promise<void> {
    let startedAt = 0
    let finishedAt = 0
    let admitted = false
    let permit: RunPermit | null = null
    let outcome: ExecOutcome | null = null
    let failure: WispError | null = null
    let capCalls = 0
    try {
      // A draining board is no longer routed to, but a run the leader sent before it heard of the drain still runs here.
      if (this.status === 'offline') throw new WispError('WISP_OVERLOADED', `board ${this.d.config.id} is ${this.status}`)
      this.queue.admit(run.fn)
      admitted = true
      this.heldRuns.admit(run.invocation, run.attempt)
      this.running++
      const manifest = await this.manifestFor(run.fn, run.sha256, Math.min(2000, run.budget_ms))
      const code = await this.d.code.get(run.sha256, manifest.size)
      const clock = this.d.clock
      permit = await this.d.scheduler.acquire(run.fn, receivedAt + run.budget_ms - clock.now())
      outcome = await this.d.executor.invoke({
        invocation: run.invocation,
        requestId: run.request_id,
        manifest,
        code,
        event: run.event,
        env: run.env,
        // The runtime runs real code in real time: its deadline is on the wall clock, the budget left on ours.
        deadlineMs: Date.now() + receivedAt + run.budget_ms - clock.now(),
        onStart: () => { startedAt = clock.now(); this.queue.started(run.fn); this.d.energy.begin(run.invocation, run.fn) },
        // Each capability call is the gateway's to allow; it is given what is left of the run's budget.
        // The isolate host counts calls too, but it runs untrusted code: the agent does not rely on it.
        onCap: async (call, budgetMs) => ++capCalls > CAP_LIMITS.callsPerInvocation
          ? capError('WISP_CAP_LIMIT', `an invocation may make ${CAP_LIMITS.callsPerInvocation} capability calls`)
          : await this.caps.request(run.invocation, call, Math.min(budgetMs, receivedAt + run.budget_ms - clock.now()))
      })
      finishedAt = clock.now()
      if (!outcome.ok) failure = outcome.error
    } catch (err) {
      failure = asWispError(err, 'WISP_FUNCTION_ERROR')
    } finally {
      permit?.release(startedAt > 0 && finishedAt > 0 && outcome !== null ? learnedRunMs(finishedAt - startedAt, outcome.cold, outcome.runMs) : null)
      if (admitted) { this.queue.finished(run.fn, startedAt > 0 ? this.d.clock.now() - startedAt : undefined); this.running-- }
    }
    // A retry that arrived meanwhile is answered by this run, under its attempt.
    if (admitted) run = { ...run, attempt: this.heldRuns.release(run.invocation, run.attempt) }
    // Every invocation that started is settled with the meter, whatever became of it.
    const share = startedAt > 0 ? this.d.energy.end(run.invocation, outcome?.cpuMs ?? 0) : { energy_mj: 0, power_w: this.d.energy.powerW() }
    const receipt = this.receipt(run, receivedAt, startedAt, outcome, share)
    const reply: Reply = failure === null && outcome?.ok === true ? { ok: true, result: outcome.result, receipt } : errorReply(failure ?? new WispError('WISP_FUNCTION_ERROR', 'no outcome'), receipt)
    this.remember(run, reply, outcome?.logs ?? [])
    const done = this.encodeDone(run, reply, outcome?.logs ?? [])
    if (admitted) this.heldRuns.keep(run.invocation, { reply, logs: outcome?.logs ?? [] }, done.length)
    await this.d.transport.publish(this.d.topics.board(this.d.config.id, 'done'), done, { qos: 1 })
      .catch((err: Error) => this.d.log.warn('done publish failed', { invocation: run.invocation, err: err.message }))
    if (this.running === 0) { for (const w of this.drainWaiters) w(); this.drainWaiters = [] }
  }

  /** The state to piggyback on a done, or undefined when it would tell the leader nothing new (DONE_STATE_MS). */
  private stateForDone (): BoardState | undefined {
    const now = this.d.clock.now()
    const busy = this.running > 0 || this.queue.totals().queueLen > 0
    let runtimes = 0
    for (const s of Object.values(this.d.executor.stats())) runtimes += s.runtimes
    const last = this.piggybacked
    if (now - last.at < DONE_STATE_MS && busy === last.busy && runtimes === last.runtimes) return undefined
    this.piggybacked = { at: now, busy, runtimes }
    return this.state()
  }

  /**
   * A result nested deeper than the leader accepts (or too deep for JSON.stringify's stack)
   * becomes an error reply, never a lost reply or a crash.
   */
  private encodeDone (run: RunMessage, reply: Reply, logLines: readonly string[]): Buffer {
    const state = this.stateForDone()
    const logs = streamedLogs(logLines)
    const done = (r: Reply): Buffer => encode({ v: 1, invocation: run.invocation, attempt: run.attempt, reply: r, state, ...(logs.length === 0 ? {} : { logs }) })
    let problem: string
    try {
      const out = done(reply)
      if (jsonDepth(out, MAX_JSON_DEPTH + ENVELOPE_DEPTH) <= MAX_JSON_DEPTH + ENVELOPE_DEPTH) return out
      problem = `result nests deeper than ${MAX_JSON_DEPTH} levels`
    } catch (err) {
      problem = `result cannot be serialised: ${(err as Error).message}`
    }
    return done(errorReply(new WispError('WISP_BAD_PAYLOAD', `${run.fn}: ${problem}`), reply.receipt))
  }

  private receipt (run: RunMessage, receivedAt: number, startedAt: number, o: ExecOutcome | null, share: { energy_mj: number, power_w: number }): Receipt {
    const now = this.d.clock.now()
    return {
      request_id: run.request_id,
      function: run.fn,
      board: this.d.config.id,
      attempt: run.attempt,
      cold: o?.cold ?? false,
      // Waiting for a runtime in the isolate host (memory budget held by busy runtimes) is queueing too.
      queue_ms: round(startedAt > 0 ? startedAt - receivedAt + (o?.waitMs ?? 0) : now - receivedAt),
      run_ms: round(o?.runMs ?? 0),
      total_ms: round(now - receivedAt),
      energy_mj: round(share.energy_mj),
      power_w: round(share.power_w),
      power_source: this.d.energy.source
    }
  }

  private remember (run: RunMessage, reply: Reply, logs: readonly string[]): void {
    const at = Math.round(this.d.clock.now())
    const rec: InvocationRecord = reply.ok
      ? { request_id: run.request_id, fn: run.fn, at_ms: at, ok: true, receipt: reply.receipt, logs }
      : { request_id: run.request_id, fn: run.fn, at_ms: at, ok: false, error: reply.error, receipt: reply.receipt, logs }
    this.recent.push(rec)
    if (this.recent.length > 50) this.recent.shift()
    for (const l of this.completionListeners) l(rec)
    this.changed()
  }

  private changed (): void { for (const l of this.listeners) l() }

  private onControl (m: InboundMessage): void {
    const r = readControl(m)
    if (r.kind === 'ignore') { this.d.log.debug('control ignored', { topic: m.topic, why: r.why }); return }
    const c = r.value
    if (!this.fence.admit(c.fence)) { this.d.log.warn('control from a deposed leader ignored', { op: c.op, fence: c.fence, highest: this.fence.seen }); return }
    void this.control(c).catch((err: Error) => this.d.log.warn('control failed', { op: c.op, err: err.message }))
  }

  private async control (c: ControlMessage): Promise<void> {
    switch (c.op) {
      case 'warm': {
        if (c.fn === undefined) return
        const manifest = this.manifests.get(c.fn)
        if (manifest === undefined) return
        await this.d.executor.setWarm(manifest, await this.d.code.get(manifest.sha256, manifest.size), c.runtimes ?? 1)
        return
      }
      case 'evict':
        if (c.fn !== undefined) this.d.executor.evict(c.fn)
        return
      case 'drain':
        this.status = 'draining'
        await this.publishStatus()
        return
      case 'resume':
        this.status = 'online'
        await this.publishStatus()
        return
      case 'shutdown':
        this.status = 'draining'
        await this.publishStatus()
        await this.drained()
        await this.stop()
        this.d.log.info('shutting down on the leader\'s request')
        this.d.powerOff()
        return
      case 'ping':
        this.pong = c.nonce
        await this.publishStatus()
        return
      case 'upgrade':
        await this.upgrade(c)
        return
      case 'rollback':
        await this.rollback()
    }
  }

  /** Resolves when nothing runs here any more, or after SHUTDOWN_DRAIN_MS. */
  private async drained (): Promise<void> {
    if (this.running === 0) return
    await new Promise<void>((resolve) => {
      const timer = this.d.clock.setTimeout(resolve, SHUTDOWN_DRAIN_MS)
      this.drainWaiters.push(() => { this.d.clock.clearTimeout(timer); resolve() })
    })
  }

  /** Drain, install, restart on the new version; a failed install leaves the board draining, saying why, until a rollback. */
  private async upgrade (c: ControlMessage): Promise<void> {
    const installer = this.d.installer
    if (installer === undefined || c.version === undefined) {
      this.d.log.warn('upgrade refused', { why: installer === undefined ? 'this board has no installer' : 'no version given' })
      return
    }
    this.status = 'draining'
    this.upgradeError = undefined
    await this.publishStatus()
    await this.drained()
    try {
      await installer.install(c.version, c.package)
    } catch (err) {
      this.upgradeError = (err as Error).message.slice(0, 512)
      this.d.log.error('upgrade failed', { version: c.version, err: this.upgradeError })
      await this.publishStatus()
      return
    }
    this.d.log.info('upgraded; restarting', { from: this.d.version, to: c.version })
    await this.stop()
    installer.restart()
  }

  private async rollback (): Promise<void> {
    const installer = this.d.installer
    if (installer === undefined) { this.d.log.warn('rollback refused', { why: 'this board has no installer' }); return }
    // After a failed install nothing was switched: this version only has to serve again.
    const failedHere = this.upgradeError !== undefined
    this.upgradeError = undefined
    if (!failedHere && await installer.rollback()) {
      this.d.log.info('rolled back; restarting', { from: this.d.version })
      await this.stop()
      installer.restart()
      return
    }
    this.status = 'online'
    await this.publishStatus()
  }
}

const round = (x: number): number => Math.round(x * 1000) / 1000

/** The log lines a done carries to the gateway: at most MAX_DONE_LOG_LINES of MAX_DONE_LOG_CHARS, and a line saying how many were left out. */
export const streamedLogs = (lines: readonly string[]): string[] => {
  const cut = (s: string): string => s.length <= MAX_DONE_LOG_CHARS ? s : `${s.slice(0, MAX_DONE_LOG_CHARS - 1)}…`
  const out = lines.slice(0, MAX_DONE_LOG_LINES).map(cut)
  if (lines.length > MAX_DONE_LOG_LINES) out.push(`[wisp] ${lines.length - MAX_DONE_LOG_LINES} more log lines not sent`)
  return out
}
