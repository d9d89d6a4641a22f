import ivm from 'isolated-vm'
import type { Manifest } from '../protocol/messages.js'
import { WispError } from '../shared/errors.js'
import type { CodeCacheStore } from './code-cache.js'
import type { ExecOutcome, ExecRequest } from './executor-port.js'
import { MAX_ERROR_MESSAGE_CHARS, capLogs, capMessage, functionErrorCode, type OutputLimits } from './outcome-caps.js'
import { compileFunction, type DecodedCodeMemo } from './module-compiler.js'
import { BlankIsolate, HeapGauge, newCtx, type Ctx } from './sandbox-source.js'
import { CapSessions } from './cap-sessions.js'
import { raceBudget, reapIfStuck } from './watchdog.js'

export interface RuntimeLimits extends OutputLimits {
  readonly board: string
  /** How long a timed-out runtime may take to answer a probe before it is disposed, ms. */
  readonly killGraceMs: number
}

export interface CreateOptions {
  /** Build nothing but the top level (validation). */
  readonly skipInit?: boolean
  /** A spare to build on; used only if its memory limit is the function's. */
  readonly blank?: Promise<BlankIsolate>
  /** Decoded code-cache entries of the pool. */
  readonly memo?: DecodedCodeMemo
}

interface Envelope { ok: boolean, logs?: unknown, code?: unknown, message?: unknown, result?: unknown }

/** The longest envelope an isolate can honestly produce within its limits (JSON escapes take up to 6 characters). */
const envelopeBound = (l: OutputLimits): number =>
  6 * (l.maxResultBytes + l.maxLogLines * (l.maxLogLineChars + 8) + MAX_ERROR_MESSAGE_CHARS) + 64 * 1024

/** Reads the isolate's reply; the host does not trust its size, shape, codes or lengths. */
const parseEnvelope = (s: unknown, l: OutputLimits): Envelope => {
  if (typeof s !== 'string') throw new Error('the runtime returned no envelope')
  if (s.length > envelopeBound(l)) {
    throw new WispError('WISP_PAYLOAD_TOO_LARGE', `the function's reply is ${s.length} characters, past what its limits allow`)
  }
  const e = JSON.parse(s) as Envelope
  if (e === null || typeof e !== 'object' || typeof e.ok !== 'boolean') throw new Error('the runtime returned a malformed envelope')
  return e
}
const failureOf = (e: Envelope): WispError => new WispError(functionErrorCode(e.code), capMessage(e.message))
const messageOf = (err: unknown): string => (err as Error)?.message ?? String(err)

/**
 * One isolate running one function. In `shared` mode every invocation runs in the main
 * context (the module's top level ran once); in `context` mode each invocation gets a new
 * context in which the already compiled prelude and module run again, with `init`'s frozen
 * result handed over by reference. When the isolate has to go (memory limit, a handler that
 * will not stop) every invocation still in it gets an explicit error and `onDead` tells the pool.
 */
export class IsolateRuntime {
  readonly sha256: string
  private dead: WispError | undefined
  private readonly deadlines = new Map<string, number>()
  private sharedRef: ivm.Reference | undefined
  private main: Ctx | undefined
  private readonly heap: HeapGauge
  /** Watchdog verdicts still pending on invocations that ran out of time. */
  private readonly reaping = new Set<Promise<unknown>>()
  /** The capability calls of the invocations running here, and the reference every context reaches them by. */
  private readonly caps = new CapSessions()
  private capRef: ivm.Reference | undefined

  private constructor (
    readonly manifest: Manifest,
    private readonly isolate: ivm.Isolate,
    private readonly script: ivm.Script,
    private readonly prelude: ivm.Script,
    private readonly limits: RuntimeLimits,
    private readonly onDead: (rt: IsolateRuntime, err: WispError) => void
  ) {
    this.sha256 = manifest.sha256
    this.heap = new HeapGauge(isolate)
  }

  /**
   * Builds isolate, compiled code (through the cache), main context and init; rejects with a
   * WispError. Without a spare, the module compiles while the main context is set up.
   */
  static async create (manifest: Manifest, code: string, cache: CodeCacheStore, limits: RuntimeLimits,
    onDead: (rt: IsolateRuntime, err: WispError) => void, opts: CreateOptions = {}): Promise<IsolateRuntime> {
    let spare = opts.blank === undefined ? undefined : await opts.blank.catch(() => undefined)
    if (spare !== undefined && (spare.memoryMb !== manifest.memory_mb || spare.isolate.isDisposed)) { spare.dispose(); spare = undefined }
    const isolate = spare?.isolate ?? new ivm.Isolate({ memoryLimit: manifest.memory_mb })
    let rt: IsolateRuntime | undefined
    try {
      const blankP = spare !== undefined ? Promise.resolve(spare) : BlankIsolate.create(manifest.memory_mb, isolate)
      blankP.catch(() => {})
      const { script } = await compileFunction(isolate, manifest, code, cache, opts.memo)
      const blank = await blankP
      rt = new IsolateRuntime(manifest, isolate, script, blank.prelude, limits, onDead)
      await rt.boot(blank, opts.skipInit === true)
      return rt
    } catch (err) {
      const e = err instanceof WispError ? err : rt?.dead ?? IsolateRuntime.loadError(manifest, isolate, err)
      if (!isolate.isDisposed) isolate.dispose()
      throw e
    }
  }

  private static loadError (m: Manifest, isolate: ivm.Isolate, err: unknown): WispError {
    const msg = messageOf(err)
    if (/memory limit/i.test(msg)) return new WispError('WISP_MEMORY_LIMIT', `${m.name}: ran past ${m.memory_mb} MB while loading`)
    if (isolate.isDisposed) return new WispError('WISP_TIMEOUT', `${m.name}: loading ran past ${m.timeout_ms} ms`)
    return new WispError('WISP_BAD_CODE', `${m.name}: ${msg}`)
  }

  get isDead (): boolean { return this.dead !== undefined }
  get running (): number { return this.deadlines.size }

  /** Heap in use by this isolate (JS heap plus external buffers), bytes, as last measured. */
  heapBytes (): number { return this.heap.bytes() }

  /** Measures the heap now (waits while the isolate is busy). */
  async measureHeap (): Promise<number> { return await this.heap.measure() }

  /**
   * Resolves once no invocation that ran out of time may still be running in this isolate:
   * at once, or when the watchdog found the isolate answering or disposed it.
   */
  async quiet (): Promise<void> {
    while (this.reaping.size > 0) await Promise.allSettled([...this.reaping])
  }

  private cpuNs (): bigint {
    try { return this.isolate.isDisposed ? 0n : this.isolate.cpuTime } catch { return 0n }
  }

  /** The latest deadline of the invocations in this runtime, on performance.now()'s scale. */
  private horizon (): number {
    let h = 0
    for (const d of this.deadlines.values()) h = Math.max(h, d)
    return h
  }

  /** Runs the module's top level in a context; its exports, by reference. */
  private async runModule (context: ivm.Context): Promise<ivm.Reference> {
    try {
      return await this.script.run(context, { reference: true, timeout: this.manifest.timeout_ms }) as ivm.Reference
    } catch (err) {
      if (this.isolate.isDisposed) throw err
      const msg = messageOf(err)
      if (/timed out/i.test(msg)) throw new WispError('WISP_TIMEOUT', `${this.manifest.name}: the module's top level ran past ${this.manifest.timeout_ms} ms`)
      throw new WispError('WISP_BAD_CODE', `${this.manifest.name}: the module's top level threw: ${msg}`)
    }
  }

  /**
   * The blank's main context runs the module's top level, then `init` (bounded by
   * timeout_ms like a handler, and with the exports check in the same call), then its
   * frozen result is kept for `context` isolation.
   */
  private async boot (blank: BlankIsolate, skipInit: boolean): Promise<void> {
    const budget = this.manifest.timeout_ms
    const main = blank.main
    this.main = main
    this.capRef = blank.cap
    blank.capHandler = async (inv, json) => await this.caps.call(inv, json)
    const exportsRef = await this.runModule(main.context)
    const initDeadline = performance.now() + budget
    blank.horizon = () => Math.max(initDeadline, this.horizon())
    const work = main.call.apply(undefined, ['boot', exportsRef.derefInto(), !skipInit], { result: { promise: true, copy: true }, timeout: budget })
    work.catch(() => {})
    const raced = await raceBudget(work, budget)
    exportsRef.release()
    if (!raced.done) {
      const err = new WispError('WISP_TIMEOUT', `${this.manifest.name}: init ran past ${budget} ms`)
      await reapIfStuck(this.reapable(main), this.limits.killGraceMs, err)
      throw err
    }
    const env = parseEnvelope(raced.value, this.limits)
    if (!env.ok) throw failureOf(env)
    main.timers.cancelAll()
    blank.horizon = () => this.horizon()
    if (this.manifest.isolation === 'context' && !skipInit) {
      this.sharedRef = await main.call.apply(undefined, ['shared'], { result: { reference: true } }) as ivm.Reference
      await main.call.apply(undefined, ['lock'], { timeout: budget })
    }
  }

  private reapable (ctx: Ctx): { probe: () => Promise<unknown>, cpuNs: () => bigint, kill: (e: WispError) => void } {
    return {
      probe: () => ctx.context.eval('0'),
      cpuNs: () => this.cpuNs(),
      kill: (e) => { this.kill(e) }
    }
  }

  /** Disposes the isolate; everything still running in it fails with `err` (or the first cause). */
  kill (err: WispError): void {
    if (this.dead === undefined) this.dead = err
    this.main?.timers.cancelAll()
    if (!this.isolate.isDisposed) {
      try { this.isolate.dispose() } catch { /* already going */ }
    }
    this.onDead(this, this.dead)
  }

  /** Runs one invocation; never rejects. `budgetMs` is what is left of timeout and deadline. */
  async invoke (req: ExecRequest, budgetMs: number): Promise<ExecOutcome> {
    const started = performance.now()
    const cpu0 = this.cpuNs()
    const m = this.manifest
    const done = (o: { ok: true, result: unknown } | { ok: false, error: WispError }, logs: string[]): ExecOutcome => {
      const co = Math.max(1, this.deadlines.size)
      this.deadlines.delete(req.invocation)
      this.caps.close(req.invocation)
      if (this.deadlines.size === 0) this.main?.timers.cancelAll()
      const runMs = performance.now() - started
      const cpuMs = Math.min(runMs, Number(this.cpuNs() - cpu0) / 1e6 / co)
      return { ...o, cold: false, runMs, cpuMs: Math.max(0, cpuMs), logs }
    }
    if (this.dead !== undefined) return done({ ok: false, error: this.dead }, [])
    if (budgetMs <= 0) return done({ ok: false, error: new WispError('WISP_TIMEOUT', `${m.name}: no time left before the deadline`) }, [])
    let eventJson: string
    try { eventJson = JSON.stringify(req.event) ?? 'null' } catch (err) {
      return done({ ok: false, error: new WispError('WISP_BAD_PAYLOAD', `event is not JSON: ${messageOf(err)}`) }, [])
    }
    this.deadlines.set(req.invocation, started + budgetMs)
    this.caps.open(req.invocation, started + budgetMs, req.onCap)
    const meta = JSON.stringify({
      requestId: req.requestId,
      functionName: m.name,
      board: this.limits.board,
      deadlineMs: req.deadlineMs,
      env: req.env ?? {},
      maxResultBytes: this.limits.maxResultBytes,
      maxLogLines: this.limits.maxLogLines,
      maxLogLineChars: this.limits.maxLogLineChars,
      maxErrorChars: MAX_ERROR_MESSAGE_CHARS
    })
    let ctx: Ctx | undefined
    let own: Ctx | undefined
    try {
      // Context isolation: a fresh context, the prelude and the module (both compiled once
      // per isolate) run in it, and the invocation takes its exports and `init`'s result.
      let args: unknown[] = ['invoke', req.invocation, eventJson, meta]
      if (m.isolation === 'context') {
        const deadline = started + budgetMs
        if (this.capRef === undefined) throw new Error('runtime has no capability reference')
        own = await newCtx(this.isolate, this.prelude, () => deadline, this.capRef)
        ctx = own
        const exportsRef = await this.runModule(own.context)
        args = [...args, exportsRef.derefInto({ release: true }), this.sharedRef?.derefInto()]
      } else {
        ctx = this.main
      }
      if (ctx === undefined) throw new Error('runtime has no context')
      const work = ctx.call.apply(undefined, args, {
        result: { promise: true, copy: true },
        // Stops a synchronous spin before the first await cheaply; later spins are the watchdog's.
        timeout: Math.max(1, Math.ceil(budgetMs - (performance.now() - started)))
      }) as Promise<unknown>
      work.catch(() => {})
      const raced = await raceBudget(work, budgetMs - (performance.now() - started))
      if (!raced.done) {
        const err = new WispError('WISP_TIMEOUT', `${m.name}: ran past ${Math.round(budgetMs)} ms`)
        const reap = reapIfStuck(this.reapable(this.main ?? ctx), this.limits.killGraceMs,
          new WispError('WISP_TIMEOUT', `${m.name}: a handler ran past its timeout and would not stop; its runtime was disposed`))
        this.reaping.add(reap)
        void reap.finally(() => { this.reaping.delete(reap) })
        return done({ ok: false, error: err }, [])
      }
      const env = parseEnvelope(raced.value, this.limits)
      const logs = capLogs(env.logs, this.limits)
      if (!env.ok) return done({ ok: false, error: failureOf(env) }, logs)
      const size = Buffer.byteLength(JSON.stringify(env.result) ?? 'null')
      if (size > this.limits.maxResultBytes) {
        return done({ ok: false, error: new WispError('WISP_PAYLOAD_TOO_LARGE', `${m.name}: result is ${size} bytes; the limit is ${this.limits.maxResultBytes}`) }, logs)
      }
      return done({ ok: true, result: env.result ?? null }, logs)
    } catch (err) {
      return done({ ok: false, error: this.failure(err) }, [])
    } finally {
      if (own !== undefined) {
        own.timers.cancelAll()
        try { own.call.release(); own.context.release() } catch { /* isolate gone */ }
      }
    }
  }

  /** Maps an isolated-vm rejection to the runtime's fate: memory limit, killed, or a plain error. */
  private failure (err: unknown): WispError {
    if (err instanceof WispError) return err
    const msg = messageOf(err)
    if (this.dead === undefined && (this.isolate.isDisposed || /disposed/i.test(msg))) {
      const mem = /memory limit/i.test(msg)
      this.kill(mem
        ? new WispError('WISP_MEMORY_LIMIT', `${this.manifest.name}: the runtime ran past ${this.manifest.memory_mb} MB and was disposed`)
        : new WispError('WISP_FUNCTION_ERROR', `${this.manifest.name}: the runtime was disposed (${msg})`))
    }
    if (this.dead !== undefined) return this.dead
    if (/timed out/i.test(msg)) return new WispError('WISP_TIMEOUT', `${this.manifest.name}: ran past its timeout`)
    return new WispError('WISP_FUNCTION_ERROR', `${this.manifest.name}: ${capMessage(msg)}`)
  }

  /** Disposes the isolate without blaming anyone (eviction, shutdown). */
  dispose (): void {
    if (this.dead === undefined) this.dead = new WispError('WISP_FUNCTION_ERROR', `${this.manifest.name}: the runtime was evicted`)
    this.main?.timers.cancelAll()
    if (!this.isolate.isDisposed) {
      try { this.isolate.dispose() } catch { /* already going */ }
    }
  }
}
