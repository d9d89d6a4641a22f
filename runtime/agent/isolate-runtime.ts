import ivm from 'isolated-vm'
import type { Manifest } from '../protocol/messages.js'
import { WispError, isErrorCode, type ErrorCode } from '../shared/errors.js'
import type { CodeCacheStore } from './code-cache.js'
import type { ExecOutcome, ExecRequest } from './executor-port.js'
import { compileFunction } from './module-compiler.js'
import { sandboxSource } from './sandbox-source.js'
import { HostTimers } from './host-timers.js'
import { raceBudget, reapIfStuck } from './watchdog.js'

export interface RuntimeLimits {
  readonly board: string
  readonly maxResultBytes: number
  readonly maxLogLines: number
  readonly maxLogLineChars: number
  /** How long a timed-out runtime may take to answer a probe before it is disposed, ms. */
  readonly killGraceMs: number
}

/** The host's handles on one context: the prelude's entry points, taken before user code ran. */
interface Ctx {
  readonly context: ivm.Context
  readonly api: ivm.Reference<Record<string, unknown>>
  readonly invoke: ivm.Reference
  readonly timers: HostTimers
}

interface Envelope { ok: boolean, logs?: unknown, code?: unknown, message?: unknown, result?: unknown }

const parseEnvelope = (s: unknown): Envelope => {
  if (typeof s !== 'string') throw new Error('the runtime returned no envelope')
  const e = JSON.parse(s) as Envelope
  if (e === null || typeof e !== 'object' || typeof e.ok !== 'boolean') throw new Error('the runtime returned a malformed envelope')
  return e
}
const logsOf = (e: Envelope): string[] => Array.isArray(e.logs) ? e.logs.filter((l): l is string => typeof l === 'string') : []
const failureOf = (e: Envelope, fallback: ErrorCode): WispError =>
  new WispError(isErrorCode(e.code) ? e.code : fallback, typeof e.message === 'string' ? e.message : 'unknown failure')
const messageOf = (err: unknown): string => (err as Error)?.message ?? String(err)

/**
 * One isolate running one function. In `shared` mode every invocation runs in the main
 * context (the module's top level ran once); in `context` mode each invocation gets a new
 * context in which the already compiled script runs again, with `init`'s frozen result
 * handed over by reference. When the isolate has to go (memory limit, a handler that will
 * not stop) every invocation still in it gets an explicit error and `onDead` tells the pool.
 */
export class IsolateRuntime {
  readonly sha256: string
  private dead: WispError | undefined
  private readonly deadlines = new Map<string, number>()
  private sharedRef: ivm.Reference | undefined
  private main: Ctx | undefined

  private constructor (
    readonly manifest: Manifest,
    private readonly isolate: ivm.Isolate,
    private readonly script: ivm.Script,
    private readonly prelude: ivm.Script,
    private readonly limits: RuntimeLimits,
    private readonly onDead: (rt: IsolateRuntime, err: WispError) => void
  ) { this.sha256 = manifest.sha256 }

  /** Builds isolate, compiled code (through the cache), main context and init; rejects with a WispError. */
  static async create (manifest: Manifest, code: string, cache: CodeCacheStore, limits: RuntimeLimits,
    onDead: (rt: IsolateRuntime, err: WispError) => void, opts: { skipInit?: boolean } = {}): Promise<IsolateRuntime> {
    const isolate = new ivm.Isolate({ memoryLimit: manifest.memory_mb })
    let rt: IsolateRuntime | undefined
    try {
      const { script } = await compileFunction(isolate, manifest, code, cache)
      const prelude = await isolate.compileScript(sandboxSource(), { filename: 'file:///wisp/sandbox.js' })
      rt = new IsolateRuntime(manifest, isolate, script, prelude, limits, onDead)
      await rt.boot(opts.skipInit === true)
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

  /** Heap in use by this isolate (JS heap plus external buffers), bytes. */
  heapBytes (): number {
    if (this.isolate.isDisposed) return 0
    try {
      const h = this.isolate.getHeapStatisticsSync()
      return h.used_heap_size + (h.externally_allocated_size ?? 0)
    } catch { return 0 }
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

  private async newContext (horizon: () => number): Promise<Ctx> {
    const context = await this.isolate.createContext()
    const timers = new HostTimers(horizon)
    await context.global.set('__wisp_sleep', timers.reference)
    await this.prelude.run(context)
    const api = await context.global.get('__wisp', { reference: true }) as ivm.Reference<Record<string, unknown>>
    await context.global.delete('__wisp')
    const fn = async (name: string): Promise<ivm.Reference> => await api.get(name, { reference: true }) as ivm.Reference
    if (this.sharedRef !== undefined) await (await fn('setShared')).apply(undefined, [this.sharedRef.derefInto()])
    let exportsRef: ivm.Reference
    try {
      exportsRef = await this.script.run(context, { reference: true, timeout: this.manifest.timeout_ms }) as ivm.Reference
    } catch (err) {
      if (this.isolate.isDisposed) throw err
      const msg = messageOf(err)
      if (/timed out/i.test(msg)) throw new WispError('WISP_TIMEOUT', `${this.manifest.name}: the module's top level ran past ${this.manifest.timeout_ms} ms`)
      throw new WispError('WISP_BAD_CODE', `${this.manifest.name}: the module's top level threw: ${msg}`)
    }
    const booted = parseEnvelope(await (await fn('boot')).apply(undefined, [exportsRef.derefInto()], { result: { copy: true } }))
    exportsRef.release()
    if (!booted.ok) throw failureOf(booted, 'WISP_BAD_CODE')
    return { context, api, invoke: await fn('invoke'), timers }
  }

  /** Main context, then `init` once (bounded by timeout_ms like a handler), then its frozen result. */
  private async boot (skipInit: boolean): Promise<void> {
    const budget = this.manifest.timeout_ms
    const initDeadline = performance.now() + budget
    const main = await this.newContext(() => Math.max(initDeadline, this.horizon()))
    this.main = main
    if (skipInit) return
    const runInit = await main.api.get('runInit', { reference: true }) as ivm.Reference
    const work = runInit.apply(undefined, [], { result: { promise: true, copy: true }, timeout: budget })
    work.catch(() => {})
    const raced = await raceBudget(work, budget)
    if (!raced.done) {
      const err = new WispError('WISP_TIMEOUT', `${this.manifest.name}: init ran past ${budget} ms`)
      await reapIfStuck(this.reapable(main), this.limits.killGraceMs, err)
      throw err
    }
    const env = parseEnvelope(raced.value)
    if (!env.ok) throw failureOf(env, 'WISP_FUNCTION_ERROR')
    main.timers.cancelAll()
    if (this.manifest.isolation === 'context') {
      const getShared = await main.api.get('getShared', { reference: true }) as ivm.Reference
      this.sharedRef = await getShared.apply(undefined, [], { result: { reference: true } }) as ivm.Reference
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
    const meta = JSON.stringify({
      requestId: req.requestId,
      functionName: m.name,
      board: this.limits.board,
      deadlineMs: req.deadlineMs,
      maxResultBytes: this.limits.maxResultBytes,
      maxLogLines: this.limits.maxLogLines,
      maxLogLineChars: this.limits.maxLogLineChars
    })
    let ctx: Ctx | undefined
    let own: Ctx | undefined
    try {
      if (m.isolation === 'context') {
        const deadline = started + budgetMs
        own = await this.newContext(() => deadline)
        ctx = own
      } else {
        ctx = this.main
      }
      if (ctx === undefined) throw new Error('runtime has no context')
      const work = ctx.invoke.apply(undefined, [req.invocation, eventJson, meta], {
        result: { promise: true, copy: true },
        // Stops a synchronous spin before the first await cheaply; later spins are the watchdog's.
        timeout: Math.max(1, Math.ceil(budgetMs - (performance.now() - started)))
      }) as Promise<unknown>
      work.catch(() => {})
      const raced = await raceBudget(work, budgetMs - (performance.now() - started))
      if (!raced.done) {
        const err = new WispError('WISP_TIMEOUT', `${m.name}: ran past ${Math.round(budgetMs)} ms`)
        void reapIfStuck(this.reapable(this.main ?? ctx), this.limits.killGraceMs,
          new WispError('WISP_TIMEOUT', `${m.name}: a handler ran past its timeout and would not stop; its runtime was disposed`))
        return done({ ok: false, error: err }, [])
      }
      const env = parseEnvelope(raced.value)
      const logs = logsOf(env)
      if (!env.ok) return done({ ok: false, error: failureOf(env, 'WISP_FUNCTION_ERROR') }, logs)
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
        try { own.context.release() } catch { /* isolate gone */ }
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
    return new WispError('WISP_FUNCTION_ERROR', `${this.manifest.name}: ${msg}`)
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
