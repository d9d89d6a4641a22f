import { fork, type ChildProcess } from 'node:child_process'
import type { Manifest } from '../protocol/messages.js'
import { compiledFile } from '../shared/compiled.js'
import { WispError, isErrorCode, type ErrorCode } from '../shared/errors.js'
import { silentLogger, type Logger } from '../shared/log.js'
import { MemoryCodeCache, type CodeCacheStore } from './code-cache.js'
import { capError, type CapResult } from '../protocol/capabilities.js'
import type { ExecOutcome, ExecRequest, Executor, RuntimeStats } from './executor-port.js'
import type { FromHost, HostOptions, ToHost, WireOutcome } from './host-protocol.js'
import type { IsolatePoolOptions } from './isolate-pool.js'
import { DEFAULT_OUTPUT_LIMITS, capOutcome, type OutputLimits } from './outcome-caps.js'
import { guarded } from './guarded.js'
import { batchedSend, unbatch, type Batch } from './ipc-batch.js'
import { lowerNice, renice } from './host-priority.js'
import { REAP_ROUNDS, STOP_BOUND_MS } from './watchdog.js'

export type RuntimePoolOptions = Omit<IsolatePoolOptions, 'clock'> & {
  /** Extra node flags for the host process (tests use this to lower its heap). */
  readonly hostExecArgv?: readonly string[]
  /** Keep a second host process started and idle, to take over at once after a crash (default true). */
  readonly standbyHost?: boolean
  /**
   * Run the host processes this many nice steps below the agent (at most nice 19): the board's
   * low-priority host for long functions (see PriorityHosts). Unset: the agent's priority.
   */
  readonly niceBy?: number
}

interface Pending {
  readonly fn: string
  /** Serves the invocation's capability calls (the agent's), if it may make any. */
  readonly onCap?: ExecRequest['onCap']
  resolve: (o: ExecOutcome) => void
  /**
   * Until the run starts: the deadline (plus STOP_BOUND_MS), past which the invocation fails
   * (whatever the host did with it). Once it runs: the end of its budget plus STOP_BOUND_MS,
   * past which the host is killed; in an emulated slow board's stretch, plus HOST_SILENCE_MS.
   */
  overdue?: NodeJS.Timeout
  running?: boolean
}
interface Host { readonly child: ChildProcess, readonly ready: Promise<void> }
interface PendingSettle { resolve: () => void, reject: (e: WispError) => void }

const MAX_RESTARTS_PER_MINUTE = 20
/**
 * A host with work in flight that has sent nothing for this long (it reports its state every
 * 500 ms) has a stuck thread: it is killed and replaced. This catches a host that wedges
 * before a run started, where no budget is known yet.
 */
export const HOST_SILENCE_MS = 3000

/**
 * The board's isolate runtime behind the Executor port. The isolates live in a supervised
 * child process (executor-host), not in the agent: measured on Node 20 with isolated-vm
 * 5.0.4, most allocation bombs are stopped by memoryLimit, but a single huge allocation
 * (`new Array(2 ** 28).fill(0)`) makes V8 abort the whole process. If the host dies, what
 * was in flight fails with WISP_MEMORY_LIMIT, a new host starts at once, and warm targets
 * are restored; the agent never goes down.
 */
export class RuntimePool implements Executor {
  private child: ChildProcess | undefined
  private standby: Host | undefined
  private ready: Promise<void> | undefined
  /** The live host once it is ready: work for it is sent at once, in the order it was asked for. */
  private readyChild: ChildProcess | undefined
  private readonly inflight = new Map<number, Pending>()
  /** Invocations that ran out of time, until the host confirms their code stopped. */
  private readonly stopping = new Map<number, NodeJS.Timeout>()
  private readonly settles = new Map<number, PendingSettle>()
  private readonly warm = new Map<string, { manifest: Manifest, code: string, runtimes: number }>()
  /** sha256 values the current host already holds the code of, by function. */
  private readonly sent = new Map<string, Set<string>>()
  /** Each host's batched sender (ipc-batch.ts). */
  private readonly senders = new WeakMap<ChildProcess, (m: ToHost) => void>()
  private readonly cache: CodeCacheStore
  private readonly log: Logger
  private readonly hostOptions: HostOptions
  private readonly limits: OutputLimits
  private state: { stats: Record<string, RuntimeStats>, memMb: number } = { stats: {}, memMb: 0 }
  private nextId = 1
  private restarts: number[] = []
  private forced = 0
  private lastHeard = performance.now()
  private readonly heartbeat: NodeJS.Timeout
  /** If the agent's process ends without close(), its hosts end with it (a stuck host would not notice). */
  private readonly killHosts = (): void => {
    for (const c of [this.child, this.standby?.child]) { try { c?.kill('SIGKILL') } catch { /* gone */ } }
  }
  private closed = false

  constructor (private readonly opts: RuntimePoolOptions) {
    if (!(opts.budgetMb > 0)) throw new WispError('WISP_BAD_CONFIG', 'budgetMb must be positive')
    this.cache = opts.cache ?? new MemoryCodeCache()
    this.log = opts.log ?? silentLogger
    const { cache: _c, log: _l, hostExecArgv: _h, standbyHost: _s, niceBy: _n, ...rest } = opts
    this.hostOptions = rest
    this.limits = {
      maxResultBytes: opts.maxResultBytes ?? DEFAULT_OUTPUT_LIMITS.maxResultBytes,
      maxLogLines: opts.maxLogLines ?? DEFAULT_OUTPUT_LIMITS.maxLogLines,
      maxLogLineChars: opts.maxLogLineChars ?? DEFAULT_OUTPUT_LIMITS.maxLogLineChars
    }
    this.heartbeat = setInterval(guarded(this.log, 'runtime host heartbeat', () => {
      const busy = this.inflight.size + this.settles.size > 0
      if (busy && this.child !== undefined && this.ready !== undefined && performance.now() - this.lastHeard > HOST_SILENCE_MS) {
        this.replace(this.child, `the runtime host sent nothing for ${HOST_SILENCE_MS} ms with work in flight`)
      }
    }), 500)
    this.heartbeat.unref()
    process.once('exit', this.killHosts)
  }

  /** Starts the host process now rather than on first use. */
  async start (): Promise<void> { await this.host() }

  private async host (): Promise<ChildProcess> {
    if (this.closed) throw new WispError('WISP_OVERLOADED', 'the runtime pool is closed')
    if (this.child === undefined || this.ready === undefined) this.spawn()
    await this.ready
    return this.child as ChildProcess
  }

  /** Starts a host process; it becomes the live one now or later (the standby). */
  private launch (): Host {
    // Compiled JavaScript (dist/), run by plain node, also when the agent runs from its sources.
    const execArgv = ['--no-node-snapshot', ...(this.opts.hostExecArgv ?? [])]
    const child = fork(compiledFile('runtime/agent/executor-host.js'), [], { execArgv, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const ready = new Promise<void>((resolve, reject) => {
      const onReady = (m: FromHost | Batch<FromHost>): void => { unbatch(m, (x) => { if (x.t === 'ready') { child.off('message', onReady); resolve() } }) }
      child.on('message', onReady)
      child.once('exit', () => { reject(new WispError('WISP_OVERLOADED', 'the runtime host did not start')) })
    })
    ready.catch(() => {})
    this.lowerPriority(child, ready)
    child.on('message', (m: FromHost | Batch<FromHost>) => {
      if (this.child !== child) return
      this.lastHeard = performance.now()
      unbatch(m, (x) => {
        try { this.onMessage(child, x) } catch (err) { this.log.error('runtime host message failed', { t: x.t, error: (err as Error)?.message }) }
      })
    })
    child.once('exit', guarded(this.log, 'runtime host exit', (code: number | null, signal: NodeJS.Signals | null) => { this.onExit(child, code, signal) }))
    // An IPC error (the host died mid-send) must not end the agent; 'exit' follows.
    child.on('error', guarded(this.log, 'runtime host channel', (err: Error) => { this.log.warn('runtime host channel error', { error: err.message }) }))
    child.send({ t: 'init', options: this.hostOptions } satisfies ToHost)
    // After init: the messages of one turn to this host travel as one (ipc-batch.ts).
    this.senders.set(child, batchedSend<ToHost>((m) => { if (child.connected) child.send(m) }))
    return { child, ready }
  }

  /** With niceBy: the host's threads at once (the main thread makes the isolate threads), and those Node started, once it is up. */
  private lowerPriority (child: ChildProcess, ready: Promise<void>): void {
    const by = this.opts.niceBy
    if (by === undefined || by <= 0 || child.pid === undefined) return
    const pid = child.pid
    const nice = lowerNice(by)
    renice(pid, nice, this.log)
    void ready.then(() => { renice(pid, nice, this.log) }, () => {})
  }

  /**
   * Makes a host live: the standby if there is one (a new host takes about a second to
   * start, too long for the other functions to wait after a crash), then starts a standby.
   */
  private spawn (): void {
    const next = this.standby ?? this.launch()
    this.standby = undefined
    this.child = next.child
    this.ready = next.ready
    void next.ready.then(() => {
      this.lastHeard = performance.now()
      if (this.child === next.child) this.readyChild = next.child
    }, () => {})
    this.sent.clear()
    this.state = { stats: {}, memMb: 0 }
    if (this.opts.standbyHost !== false) {
      void next.ready.then(() => { if (!this.closed && this.standby === undefined) this.standby = this.launch() }, () => {})
    }
  }

  private send (m: ToHost): void {
    const child = this.child
    if (child?.connected === true) this.senders.get(child)?.(m)
  }

  private onMessage (child: ChildProcess, m: FromHost): void {
    switch (m.t) {
      case 'running': {
        if (m.state !== undefined) this.state = m.state
        const p = this.inflight.get(m.id)
        if (p === undefined) break
        // Sent again when an emulated slow board stretches a run that has ended: no function code
        // runs then, so there is no runaway to stop within STOP_BOUND_MS, only a host that might
        // be stuck, which gets what any busy host gets (HOST_SILENCE_MS). On a loaded machine a
        // host late by a few hundred ms was killed here, and with it every run in flight.
        const stretch = p.running === true
        const bound = stretch ? HOST_SILENCE_MS : STOP_BOUND_MS
        p.running = true
        clearTimeout(p.overdue)
        p.overdue = setTimeout(guarded(this.log, 'overdue invocation', () => {
          this.replace(child, `${p.fn}: ran past its ${Math.round(m.budgetMs)} ms${stretch ? ' (emulated slow board)' : ''} and its runtime host did not answer within ${bound} ms more`, m.id)
        }), m.budgetMs + bound)
        break
      }
      case 'done': {
        if (m.state !== undefined) this.state = m.state
        const p = this.inflight.get(m.id)
        this.inflight.delete(m.id)
        clearTimeout(p?.overdue)
        // The host is a separate process running untrusted code: its reply is bounded again here.
        const outcome = capOutcome(fromWire(m.outcome), this.limits)
        if (!outcome.ok && outcome.error.code === 'WISP_TIMEOUT' && p !== undefined) {
          // The host disposes a runtime that will not stop; if it cannot say so in time, it goes.
          const bound = (this.opts.killGraceMs ?? 100) * REAP_ROUNDS + STOP_BOUND_MS
          this.stopping.set(m.id, setTimeout(guarded(this.log, 'runaway stop check', () => {
            this.stopping.delete(m.id)
            this.replace(child, `${p.fn}: ran past its timeout and did not stop within ${bound} ms`)
          }), bound))
        }
        p?.resolve(outcome)
        break
      }
      case 'stopped': clearTimeout(this.stopping.get(m.id)); this.stopping.delete(m.id); break
      case 'settled': {
        const s = this.settles.get(m.id)
        this.settles.delete(m.id)
        if (m.error === undefined) s?.resolve()
        else s?.reject(new WispError(m.error.code, m.error.message))
        break
      }
      case 'state': this.state = { stats: m.stats, memMb: m.memMb }; break
      case 'cache-get':
        this.cache.get(m.key).catch(() => undefined).then((value) => { this.send({ t: 'cache-reply', id: m.id, value }) }, () => {})
        break
      case 'cap': {
        const serve = this.inflight.get(m.id)?.onCap
        const answer = (result: CapResult): void => { if (this.child === child) this.send({ t: 'cap-reply', seq: m.seq, result }) }
        if (serve === undefined) { answer(capError('WISP_FORBIDDEN', 'the invocation that made this call has ended')); break }
        serve(m.call, m.budgetMs).then(answer, (err: unknown) => { answer(capError('WISP_FUNCTION_ERROR', `${m.call.op} failed: ${(err as Error)?.message ?? String(err)}`)) })
        break
      }
      case 'cache-put': this.cache.put(m.key, m.value).catch(() => {}); break
      case 'cache-del': this.cache.del(m.key).catch(() => {}); break
      case 'log': this.log[m.level](m.msg, m.extra); break
      default: break
    }
  }

  private onExit (child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.standby?.child === child) this.standby = undefined
    if (this.child !== child) return
    this.log.error('runtime host ended', { code, signal })
    this.retire('WISP_MEMORY_LIMIT', `the runtime host ended (${signal ?? `exit ${String(code)}`}), most likely a function exhausted memory; its runtimes are being rebuilt`)
  }

  /**
   * A host that cannot stop a runaway in time (its thread is stuck, or a disposed isolate keeps
   * running) is killed at once and the standby takes over; what it had in flight fails.
   */
  private replace (child: ChildProcess, why: string, overdue?: number): void {
    if (this.child !== child || this.closed) return
    const t0 = performance.now()
    this.log.error('runtime host would not stop a runaway; replacing it', { why, pid: child.pid })
    child.kill('SIGKILL')
    this.forced++
    const late = overdue === undefined ? undefined : this.inflight.get(overdue)
    if (late !== undefined && overdue !== undefined) {
      this.inflight.delete(overdue)
      late.resolve({ ok: false, error: new WispError('WISP_TIMEOUT', why), cold: false, runMs: 0, cpuMs: 0, logs: [] })
    }
    this.retire('WISP_OVERLOADED', `the runtime host was replaced because a function would not stop (${why}); try again`)
    void this.ready?.then(() => { this.log.info('runtime host replaced', { ms: Math.round(performance.now() - t0) }) }, () => {})
  }

  /** Fails what the live host had in flight and makes a new host live (the standby, if any). */
  private retire (code: ErrorCode, why: string): void {
    this.child = undefined
    this.ready = undefined
    this.readyChild = undefined
    this.state = { stats: {}, memMb: 0 }
    for (const t of this.stopping.values()) clearTimeout(t)
    this.stopping.clear()
    if (this.closed) return
    this.failAll(code, why)
    const now = Date.now()
    this.restarts = [...this.restarts.filter((t) => now - t < 60_000), now]
    if (this.restarts.length > MAX_RESTARTS_PER_MINUTE) {
      this.log.error('runtime host keeps dying; starting it again on next use only', {})
      return
    }
    // Restart at once so the other functions are served again quickly, and restore warm targets.
    this.spawn()
    for (const t of this.warm.values()) this.setWarm(t.manifest, t.code, t.runtimes).catch(() => {})
  }

  private failAll (code: ErrorCode, message: string): void {
    for (const [id, p] of this.inflight) {
      this.inflight.delete(id)
      clearTimeout(p.overdue)
      p.resolve({ ok: false, error: new WispError(code, `${p.fn}: ${message}`), cold: false, runMs: 0, cpuMs: 0, logs: [] })
    }
    for (const [id, s] of this.settles) { this.settles.delete(id); s.reject(new WispError(code, message)) }
  }

  async invoke (req: ExecRequest): Promise<ExecOutcome> {
    // With the host up, no await before the send: an evict asked for after this invocation
    // (PriorityHosts moving the function) reaches the host after it, not before.
    if (this.closed || this.readyChild === undefined || this.readyChild !== this.child) {
      try { await this.host() } catch (err) {
        return { ok: false, error: err as WispError, cold: false, runMs: 0, cpuMs: 0, logs: [] }
      }
    }
    const id = this.nextId++
    const sha = req.manifest.sha256
    const known = this.sent.get(req.manifest.name) ?? new Set<string>()
    this.sent.set(req.manifest.name, known)
    const { code, onStart, onCap, onRunning: _r, onStopped: _s, ...rest } = req
    const wire = known.has(sha) ? rest : { ...rest, code }
    known.add(sha)
    return await new Promise<ExecOutcome>((resolve) => {
      const lost = setTimeout(guarded(this.log, 'lost invocation', () => {
        const p = this.inflight.get(id)
        if (p === undefined || p.running === true) return
        this.inflight.delete(id)
        p.resolve({ ok: false, error: new WispError('WISP_TIMEOUT', `${p.fn}: the runtime host did not start it before the deadline`), cold: false, runMs: 0, cpuMs: 0, logs: [] })
      }), Math.max(0, req.deadlineMs - Date.now()) + STOP_BOUND_MS)
      this.inflight.set(id, { fn: req.manifest.name, resolve, overdue: lost, onCap })
      this.send({ t: 'invoke', id, req: wire })
      onStart?.() // functions do not cross the IPC channel: the run starts when the host has it
    })
  }

  private async settle (make: (id: number) => ToHost): Promise<void> {
    await this.host()
    const id = this.nextId++
    await new Promise<void>((resolve, reject) => {
      this.settles.set(id, { resolve, reject })
      this.send(make(id))
    })
  }

  async validate (manifest: Manifest, code: string): Promise<void> {
    await this.settle((id) => ({ t: 'validate', id, manifest, code }))
  }

  async setWarm (manifest: Manifest, code: string, runtimes: number): Promise<void> {
    this.warm.set(manifest.name, { manifest, code, runtimes })
    await this.settle((id) => {
      const known = this.sent.get(manifest.name) ?? new Set<string>()
      known.add(manifest.sha256)
      this.sent.set(manifest.name, known)
      return { t: 'warm', id, manifest, code, runtimes }
    })
  }

  evict (fn: string): void {
    this.warm.delete(fn)
    this.sent.delete(fn)
    this.send({ t: 'evict', fn })
  }

  /** As last reported by the host (it reports on every change), plus invocations in transit. */
  stats (): Readonly<Record<string, RuntimeStats>> { return this.state.stats }

  memMb (): number { return this.state.memMb }

  /** True once a standby host is started (tests wait for it before they crash a host). */
  get hasStandby (): boolean { return this.standby !== undefined }

  /** Host processes killed because a runaway would not stop in time. */
  get forcedRestarts (): number { return this.forced }

  /** The host's process id (tests use it to check that a crash was survived). */
  get hostPid (): number | undefined { return this.child?.pid }

  /** The live host processes' ids (the power meter counts their CPU). */
  get hostPids (): ReadonlyArray<number | undefined> { return [this.child?.pid] }

  async close (): Promise<void> {
    this.closed = true
    clearInterval(this.heartbeat)
    process.off('exit', this.killHosts)
    this.failAll('WISP_OVERLOADED', 'the runtime pool closed')
    for (const t of this.stopping.values()) clearTimeout(t)
    this.stopping.clear()
    const all = [this.child, this.standby?.child]
    this.standby = undefined
    await Promise.all(all.map(async (child) => {
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise<void>((resolve) => { child.once('exit', () => { resolve() }) })
      if (child.connected) child.disconnect()
      const t = setTimeout(() => { child.kill('SIGKILL') }, 2000)
      await exited
      clearTimeout(t)
    }))
  }
}

const fromWire = (o: WireOutcome): ExecOutcome =>
  o.ok ? o : { ...o, error: new WispError(isErrorCode(o.error.code) ? o.error.code : 'WISP_FUNCTION_ERROR', String(o.error.message)) }
