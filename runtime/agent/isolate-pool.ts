import { cpus } from 'node:os'
import { lruIdleVictim } from '../board-model/eviction.js'
import type { Manifest } from '../protocol/messages.js'
import { systemClock, type Clock, type TimerHandle } from '../shared/clock.js'
import { WispError, asWispError } from '../shared/errors.js'
import { silentLogger, type Logger } from '../shared/log.js'
import { MemoryCodeCache, type CodeCacheStore } from './code-cache.js'
import type { ExecOutcome, ExecRequest, Executor, RuntimeStats } from './executor-port.js'
import { IsolateRuntime, type RuntimeLimits } from './isolate-runtime.js'
import { DecodedCodeMemo } from './module-compiler.js'
import { DEFAULT_OUTPUT_LIMITS, type OutputLimits } from './outcome-caps.js'
import { SpareIsolates } from './sandbox-source.js'
import { validateFunction } from './validate.js'
import { guarded } from './guarded.js'

export interface IsolatePoolOptions {
  /** Board id, handed to handlers as `context.board`. */
  readonly board?: string
  /** Sum of `memory_mb` of all live runtimes may not pass this (profile's runtime_budget_mb). */
  readonly budgetMb: number
  /** Compiled-code cache; defaults to one in memory. */
  readonly cache?: CodeCacheStore
  /** Relative speed of the emulated board (1 = Pi 4); below 1 every run is stretched by 1/speed. */
  readonly speed?: number
  /** Runtimes of one function at most (the board's cores). */
  readonly maxRuntimesPerFunction?: number
  /** An idle runtime above the leader's warm target is disposed after this long, ms. */
  readonly keepAliveMs?: number
  /** Largest result in UTF-8 JSON bytes; larger is WISP_PAYLOAD_TOO_LARGE. */
  readonly maxResultBytes?: number
  readonly maxLogLines?: number
  readonly maxLogLineChars?: number
  /** Grace a timed-out runtime gets to answer a probe before it is disposed, ms. */
  readonly killGraceMs?: number
  /**
   * Blank isolates (prelude and main context ready, no function) kept ready so a cold start
   * only compiles and runs the module; 0 turns this off. Default 1. A spare holds about
   * 1 MiB of heap and is not counted against budgetMb until a function takes it.
   */
  readonly spares?: number
  /** Memory limit of the first spare, MB; later spares follow the sizes cold starts asked for. Default 64. */
  readonly spareMemoryMb?: number
  readonly clock?: Clock
  readonly log?: Logger
}

export const DEFAULT_MAX_RESULT_BYTES = DEFAULT_OUTPUT_LIMITS.maxResultBytes
const DEFAULT_KEEP_ALIVE_MS = 10 * 60_000

/** A runtime slot: built asynchronously, counted against the budget from the moment it is planned. */
interface Entry {
  readonly fn: string
  readonly sha256: string
  readonly memMb: number
  readonly ready: Promise<IsolateRuntime>
  rt: IsolateRuntime | undefined
  assigned: number
  lastUsed: number
  gone: boolean
  idleTimer: TimerHandle | undefined
}

/** The system clock's timers do not hold the process open; an invocation waiting on one must. */
const keepAlive = (ms: number): NodeJS.Timeout => setTimeout(() => {}, Math.min(ms + 1000, 2 ** 31 - 1))

interface Target { manifest: Manifest, code: string, runtimes: number }

/**
 * The board's runtimes, in this process (RuntimePool runs one in a supervised child).
 * Invocations of a function share a runtime up to its `concurrency`;
 * more runtimes are built (up to maxRuntimesPerFunction) when all are full. The leader sets
 * warm targets; on its own the pool only evicts least-recently-used idle runtimes to stay
 * inside its memory budget, and idle runtimes above target after the keep-alive.
 */
export class IsolatePool implements Executor {
  private readonly entries: Entry[] = []
  private readonly targets = new Map<string, Target>()
  /** Functions evicted while some of their runtimes were busy: those go as soon as they are idle. */
  private readonly leaving = new Set<string>()
  private readonly waiters = new Set<() => void>()
  private readonly cache: CodeCacheStore
  private readonly clock: Clock
  private readonly log: Logger
  private readonly limits: RuntimeLimits
  private readonly speed: number
  private readonly maxPerFn: number
  private readonly keepAliveMs: number
  private readonly memo = new DecodedCodeMemo()
  private readonly spares: SpareIsolates
  private closed = false

  constructor (private readonly opts: IsolatePoolOptions) {
    if (!(opts.budgetMb > 0)) throw new WispError('WISP_BAD_CONFIG', 'budgetMb must be positive')
    this.cache = opts.cache ?? new MemoryCodeCache()
    this.clock = opts.clock ?? systemClock
    this.log = opts.log ?? silentLogger
    this.speed = opts.speed !== undefined && opts.speed > 0 ? Math.min(opts.speed, 1) : 1
    this.maxPerFn = Math.max(1, opts.maxRuntimesPerFunction ?? cpus().length)
    this.keepAliveMs = opts.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS
    this.limits = Object.freeze({
      board: opts.board ?? 'local',
      maxResultBytes: opts.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES,
      maxLogLines: opts.maxLogLines ?? DEFAULT_OUTPUT_LIMITS.maxLogLines,
      maxLogLineChars: opts.maxLogLineChars ?? DEFAULT_OUTPUT_LIMITS.maxLogLineChars,
      killGraceMs: opts.killGraceMs ?? 100
    })
    this.spares = new SpareIsolates(Math.max(0, Math.floor(opts.spares ?? 1)), opts.spareMemoryMb ?? 64, this.log)
  }

  /** What leaves this pool's runtimes is bounded by these. */
  get outputLimits (): OutputLimits { return this.limits }

  /** Resolves once the spares are made (benchmarks and tests wait for it). */
  async sparesReady (): Promise<void> { await this.spares.ready() }

  async invoke (req: ExecRequest): Promise<ExecOutcome> {
    const fail = (error: WispError, cold = false): ExecOutcome =>
      ({ ok: false, error, cold, runMs: 0, cpuMs: 0, logs: [] })
    let slot: { entry: Entry, cold: boolean }
    const asked = this.clock.now()
    try { slot = await this.acquire(req) } catch (err) { return { ...fail(asWispError(err)), waitMs: this.clock.now() - asked } }
    const { entry, cold } = slot
    const waitMs = this.clock.now() - asked
    // A slot whose invocation ran out of time stays taken until its code has certainly stopped.
    let busy: Promise<void> | undefined
    try {
      let rt: IsolateRuntime
      try { rt = await entry.ready } catch (err) { return { ...fail(asWispError(err, 'WISP_BAD_CODE'), cold), waitMs } }
      // Building the runtime (compile, init) does not count against the handler's timeout_ms.
      const budget = Math.min(req.manifest.timeout_ms, req.deadlineMs - this.clock.now())
      const running = (ms: number): void => {
        try { req.onRunning?.(Math.max(0, ms)) } catch (err) { this.log.error('onRunning failed', { error: asWispError(err).message }) }
      }
      running(budget)
      const out = await rt.invoke(req, budget)
      if (!out.ok && out.error.code === 'WISP_TIMEOUT') busy = rt.quiet()
      const stretch = this.speed < 1 ? out.runMs * (1 / this.speed - 1) : 0
      if (stretch > 0) {
        running(stretch)
        await this.sleep(stretch)
      }
      return { ...out, cold, runMs: out.runMs + stretch, waitMs }
    } finally {
      const free = (): void => {
        this.release(entry)
        try { req.onStopped?.() } catch (err) { this.log.error('onStopped failed', { error: asWispError(err).message }) }
      }
      if (busy === undefined) free()
      else void busy.finally(free)
    }
  }

  async validate (manifest: Manifest, code: string): Promise<void> {
    await validateFunction(manifest, code)
  }

  async setWarm (manifest: Manifest, code: string, runtimes: number): Promise<void> {
    const n = Math.max(0, Math.min(Math.floor(runtimes), this.maxPerFn))
    this.targets.set(manifest.name, { manifest, code, runtimes: n })
    this.leaving.delete(manifest.name)
    for (const e of this.live(manifest.name)) if (e.sha256 !== manifest.sha256 && e.assigned === 0) this.drop(e)
    const builds: Array<Promise<IsolateRuntime>> = []
    while (this.live(manifest.name).filter((e) => e.sha256 === manifest.sha256).length < n) {
      if (!this.makeRoom(manifest.memory_mb)) {
        this.log.warn('no memory budget for a warm runtime', { fn: manifest.name, target: n })
        break
      }
      builds.push(this.build(manifest, code).ready)
    }
    const idle = this.live(manifest.name).filter((e) => e.assigned === 0).sort((a, b) => a.lastUsed - b.lastUsed)
    while (this.live(manifest.name).length > n && idle.length > 0) this.drop(idle.shift() as Entry)
    const results = await Promise.allSettled(builds)
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed !== undefined) throw asWispError(failed.reason, 'WISP_BAD_CODE')
  }

  /** Drops fn's idle runtimes now and its busy ones once idle (unless fn is invoked or warmed here again first). */
  evict (fn: string): void {
    this.targets.delete(fn)
    for (const e of this.live(fn)) if (e.assigned === 0) this.drop(e)
    if (this.live(fn).length > 0) this.leaving.add(fn)
  }

  stats (): Readonly<Record<string, RuntimeStats>> {
    const out: Record<string, { runtimes: number, running: number }> = {}
    for (const e of this.entries) {
      const s = out[e.fn] ?? (out[e.fn] = { runtimes: 0, running: 0 })
      s.runtimes++
      s.running += e.assigned
    }
    return out
  }

  memMb (): number {
    let bytes = 0
    for (const e of this.entries) bytes += e.rt?.heapBytes() ?? 0
    bytes += this.spares.heapBytes()
    return bytes / (1024 * 1024)
  }

  async close (): Promise<void> {
    this.closed = true
    for (const e of [...this.entries]) this.drop(e)
    const spares = this.spares.close()
    this.wake()
    await Promise.allSettled([...this.entries.map((e) => e.ready), spares])
  }

  /** Like memMb, measured now rather than as last seen (waits while an isolate is busy). */
  async measureMemMb (): Promise<number> {
    const parts = await Promise.all([...this.entries.map(async (e) => await e.rt?.measureHeap() ?? 0), this.spares.measureHeap()])
    return parts.reduce((a, b) => a + b, 0) / (1024 * 1024)
  }

  /** Budget in use: every planned or live runtime counts its memory_mb. */
  reservedMb (): number { return this.entries.reduce((s, e) => s + e.memMb, 0) }

  private live (fn: string): Entry[] { return this.entries.filter((e) => e.fn === fn && !e.gone) }

  /** Finds a runtime with a free slot, or builds one, or waits (bounded by the deadline). */
  private async acquire (req: ExecRequest): Promise<{ entry: Entry, cold: boolean }> {
    const m = req.manifest
    this.leaving.delete(m.name)
    if (m.memory_mb > this.opts.budgetMb) {
      throw new WispError('WISP_OVERLOADED', `${m.name} needs ${m.memory_mb} MB; this board's runtime budget is ${this.opts.budgetMb} MB`)
    }
    for (let round = 0; round < 10_000; round++) {
      if (this.closed) throw new WispError('WISP_OVERLOADED', 'the runtime pool is closed')
      const mine = this.live(m.name)
      for (const e of mine) if (e.sha256 !== m.sha256 && e.assigned === 0) this.drop(e)
      const open = mine.filter((e) => e.sha256 === m.sha256 && !e.gone && e.assigned < m.concurrency)
        .sort((a, b) => a.assigned - b.assigned)[0]
      if (open !== undefined) return { entry: this.take(open), cold: open.rt === undefined }
      if (this.live(m.name).length < this.maxPerFn && this.makeRoom(m.memory_mb)) {
        return { entry: this.take(this.build(m, req.code)), cold: true }
      }
      const left = req.deadlineMs - this.clock.now()
      if (left <= 0) throw new WispError('WISP_TIMEOUT', `${m.name}: no runtime slot came free before the deadline`)
      await this.waitForChange(left)
    }
    throw new WispError('WISP_OVERLOADED', `${m.name}: no runtime slot`)
  }

  private take (e: Entry): Entry {
    e.assigned++
    e.lastUsed = this.clock.now()
    if (e.idleTimer !== undefined) { this.clock.clearTimeout(e.idleTimer); e.idleTimer = undefined }
    return e
  }

  private release (e: Entry): void {
    e.assigned--
    e.lastUsed = this.clock.now()
    if (e.assigned === 0 && !e.gone) {
      const t = this.targets.get(e.fn)
      if (t === undefined && (this.leaving.has(e.fn) || this.closedForFn(e))) this.drop(e)
      else e.idleTimer = this.clock.setTimeout(guarded(this.log, 'idle expiry', () => { e.idleTimer = undefined; this.expire(e) }), this.keepAliveMs)
    }
    this.wake()
  }

  /** An idle runtime whose code was replaced is of no further use. */
  private closedForFn (e: Entry): boolean {
    return this.live(e.fn).some((o) => o.sha256 !== e.sha256 && o.lastUsed > e.lastUsed)
  }

  private expire (e: Entry): void {
    if (e.gone || e.assigned > 0) return
    const target = this.targets.get(e.fn)?.runtimes ?? 0
    if (this.live(e.fn).length > target) this.drop(e)
  }

  /** Evicts least-recently-used idle runtimes until mb more fit the budget; false if they cannot. */
  private makeRoom (mb: number): boolean {
    for (let guard = this.entries.length; guard >= 0; guard--) {
      if (this.reservedMb() + mb <= this.opts.budgetMb) return true
      // The board model's choice, each runtime a holding of its own (concurrency 0: busy while any run is in it).
      const holdings = this.entries.map((e) => ({ runtimes: e.gone ? 0 : 1, running: e.assigned, lastUsed: e.lastUsed }))
      const victim = this.entries[lruIdleVictim(holdings, () => 0, -1)]
      if (victim === undefined) return false
      this.log.info('evicting runtime for memory budget', { fn: victim.fn })
      this.drop(victim)
    }
    return false
  }

  private build (m: Manifest, code: string): Entry {
    const entry: Entry = {
      fn: m.name, sha256: m.sha256, memMb: m.memory_mb, rt: undefined,
      ready: undefined as unknown as Promise<IsolateRuntime>,
      assigned: 0, lastUsed: this.clock.now(), gone: false, idleTimer: undefined
    }
    const spare = this.spares.take(m.memory_mb)
    const ready = IsolateRuntime.create(m, code, this.cache, this.limits, (_rt, err) => { this.onDead(entry, err) },
      { blank: spare.blank, memo: this.memo })
    ready.then((rt) => {
      entry.rt = rt
      if (entry.gone) rt.dispose()
    }, (err: unknown) => {
      this.log.warn('runtime failed to start', { fn: m.name, error: asWispError(err).message })
      this.remove(entry)
    }).finally(() => { setImmediate(guarded(this.log, 'spare isolate', spare.after)) })
    ;(entry as { ready: Promise<IsolateRuntime> }).ready = ready
    this.entries.push(entry)
    return entry
  }

  private onDead (entry: Entry, err: WispError): void {
    this.log.warn('runtime disposed', { fn: entry.fn, code: err.code, error: err.message })
    this.remove(entry)
    const t = this.targets.get(entry.fn)
    if (t !== undefined && !this.closed) {
      // Rebuild towards the leader's target later, off this call stack.
      this.clock.setTimeout(guarded(this.log, 'warm rebuild', async () => { await this.setWarm(t.manifest, t.code, t.runtimes) }), 0)
    }
  }

  private drop (e: Entry): void {
    e.rt?.dispose()
    this.remove(e)
  }

  private remove (e: Entry): void {
    e.gone = true
    if (this.live(e.fn).length === 0) this.leaving.delete(e.fn)
    if (e.idleTimer !== undefined) { this.clock.clearTimeout(e.idleTimer); e.idleTimer = undefined }
    const i = this.entries.indexOf(e)
    if (i >= 0) this.entries.splice(i, 1)
    this.wake()
  }

  private wake (): void {
    const ws = [...this.waiters]
    this.waiters.clear()
    for (const w of ws) w()
  }

  private async waitForChange (ms: number): Promise<void> {
    const keep = keepAlive(ms)
    await new Promise<void>((resolve) => {
      const h = this.clock.setTimeout(() => { this.waiters.delete(done); resolve() }, ms)
      const done = (): void => { this.clock.clearTimeout(h); resolve() }
      this.waiters.add(done)
    })
    clearTimeout(keep)
  }

  private async sleep (ms: number): Promise<void> {
    const keep = keepAlive(ms)
    await new Promise<void>((resolve) => { this.clock.setTimeout(resolve, ms) })
    clearTimeout(keep)
  }
}
