import ivm from 'isolated-vm'
import { readFile } from 'node:fs/promises'
import { compiledFile } from '../shared/compiled.js'
import type { Logger } from '../shared/log.js'
import { HostTimers } from './host-timers.js'

const FILENAME = 'file:///wisp/sandbox.js'
let source: Promise<string> | undefined
/** V8's cached data for the prelude: the same for every isolate of this process. */
let cachedData: ivm.ExternalCopy<ArrayBuffer> | undefined
type CachedScript = ivm.Script & { readonly cachedData?: ivm.ExternalCopy<ArrayBuffer>, readonly cachedDataRejected?: boolean }

/**
 * The isolate-side prelude as one script, read once per process (asynchronously, so a host
 * starting up is not blocked). It is bundled from sandbox.isolate.ts at build time (see
 * scripts/build.js), so no bundler runs on a board. Its completion value is the prelude's
 * `setup` function, and it removes the global it came through within the same run.
 */
export const sandboxSource = async (): Promise<string> => {
  source ??= (async () => await readFile(compiledFile('runtime/agent/sandbox.prelude.js'), 'utf8'))()
  source.catch(() => { source = undefined })
  return await source
}

/** Compiles the prelude into an isolate, from (or producing) the process's cached data. */
export const compilePrelude = async (isolate: ivm.Isolate): Promise<ivm.Script> => {
  const text = await sandboxSource()
  const known = cachedData
  if (known !== undefined) {
    const s: CachedScript = await isolate.compileScript(text, { filename: FILENAME, cachedData: known })
    if (s.cachedDataRejected !== true) return s
  }
  const s: CachedScript = await isolate.compileScript(text, { filename: FILENAME, produceCachedData: true })
  cachedData ??= s.cachedData
  return s
}

/** The host's handles on one context: the prelude's entry point, taken before user code ran. */
export interface PreludeContext {
  readonly context: ivm.Context
  /** `call(op, ...args)` in the context (see sandbox.isolate.ts). */
  readonly call: ivm.Reference
}

/**
 * A new context with the prelude installed, in three round trips to the isolate (create,
 * run the prelude, hand it the host's sleep): before, it took seven `set`/`get`/`delete`s.
 */
export const installPrelude = async (isolate: ivm.Isolate, prelude: ivm.Script, sleep: ivm.Reference, cap: ivm.Reference): Promise<PreludeContext> => {
  const context = await isolate.createContext()
  try {
    const setup = await prelude.run(context, { reference: true }) as ivm.Reference
    const call = await setup.apply(undefined, [sleep, cap], { result: { reference: true } }) as ivm.Reference
    setup.release()
    return { context, call }
  } catch (err) {
    try { context.release() } catch { /* isolate gone */ }
    throw err
  }
}

/** A context with the prelude installed, and its host timers. */
export interface Ctx extends PreludeContext { readonly timers: HostTimers }

export const newCtx = async (isolate: ivm.Isolate, prelude: ivm.Script, horizon: () => number, cap: ivm.Reference): Promise<Ctx> => {
  const timers = new HostTimers(horizon)
  return { ...await installPrelude(isolate, prelude, timers.reference, cap), timers }
}

/** The host half of a handler's capability calls: (invocation id, call as JSON) → reply as JSON; never rejects. */
export type CapHandler = (invocation: string, callJson: string) => Promise<string>
const noCapabilities: CapHandler = async () => JSON.stringify({ ok: false, code: 'WISP_FORBIDDEN', message: 'no capabilities outside an invocation' })

/**
 * An isolate with its prelude compiled and its main context installed, but no function yet:
 * what the pool keeps as a spare (like a pre-forked worker), so that a cold start only has
 * to compile and run the function's module. Its memory limit is fixed when it is made.
 */
export class BlankIsolate {
  /** The main context's timers read this; the runtime that adopts the blank sets it. */
  horizon: () => number = () => 0
  /** Every context of the isolate reaches the host's capabilities through `cap`, which calls this; the runtime sets it. */
  capHandler: CapHandler = noCapabilities
  readonly heap: HeapGauge
  private constructor (readonly memoryMb: number, readonly isolate: ivm.Isolate, readonly prelude: ivm.Script, readonly main: Ctx, readonly cap: ivm.Reference) {
    this.heap = new HeapGauge(isolate)
  }

  static async create (memoryMb: number, isolate = new ivm.Isolate({ memoryLimit: memoryMb })): Promise<BlankIsolate> {
    try {
      const prelude = await compilePrelude(isolate)
      const made: { blank?: BlankIsolate } = {}
      const cap = new ivm.Reference(async (inv: unknown, json: unknown): Promise<string> =>
        await (made.blank?.capHandler ?? noCapabilities)(String(inv), String(json)))
      const main = await newCtx(isolate, prelude, () => made.blank?.horizon() ?? 0, cap)
      made.blank = new BlankIsolate(memoryMb, isolate, prelude, main, cap)
      return made.blank
    } catch (err) {
      if (!isolate.isDisposed) isolate.dispose()
      throw err
    }
  }

  heapBytes (): number { return this.heap.bytes() }

  async measureHeap (): Promise<number> { return await this.heap.measure() }

  dispose (): void {
    if (!this.isolate.isDisposed) {
      try { this.isolate.dispose() } catch { /* already going */ }
    }
  }
}

/**
 * Heap in use by an isolate (JS heap plus external buffers), bytes, as last measured. Reading
 * it never blocks: `getHeapStatisticsSync` waits for the isolate's lock, so a handler spinning
 * in the isolate would stop this whole thread (and with it the watchdog that is to stop the
 * handler). The asynchronous form queues behind the running task and answers when it can.
 * `bytes` starts a new measurement at most every REMEASURE_MS: the host reports its state after
 * every invocation, and a measurement per report was a third of an isolate host's CPU under load
 * (docs/performance.md).
 */
export class HeapGauge {
  /** Shortest time between two measurements started by `bytes` (ms). */
  static readonly REMEASURE_MS = 200
  private last = 0
  private measuredAt = -Infinity
  constructor (private readonly isolate: ivm.Isolate, private readonly now: () => number = () => performance.now()) {}

  private pending: Promise<number> | undefined

  bytes (): number {
    if (this.isolate.isDisposed) return 0
    if (this.now() - this.measuredAt >= HeapGauge.REMEASURE_MS) void this.measure()
    return this.last
  }

  /** A new measurement (shared with one already under way); waits while the isolate is busy. */
  async measure (): Promise<number> {
    if (this.isolate.isDisposed) return 0
    this.measuredAt = this.now()
    this.pending ??= this.isolate.getHeapStatistics().then((h) => {
      this.last = h.used_heap_size + (h.externally_allocated_size ?? 0)
      return this.last
    }, () => this.last).finally(() => { this.pending = undefined })
    return await this.pending
  }
}

interface Spare { readonly memoryMb: number, readonly ready: Promise<BlankIsolate>, blank?: BlankIsolate }

/**
 * The pool's spare blank isolates. A cold start takes one of its size; the next one is made
 * after that cold start finished (`after`), off its path. A size no spare has replaces the
 * oldest spare, so spares follow the memory limits the board's functions ask for.
 */
export class SpareIsolates {
  private readonly spares: Spare[] = []
  private closed = false

  constructor (private readonly count: number, firstMb: number, private readonly log: Logger) {
    if (count > 0) {
      setImmediate(() => {
        try { this.add(firstMb) } catch (err) { this.log.warn('a spare isolate failed to start', { error: (err as Error)?.message ?? String(err) }) }
      })
    }
  }

  take (memoryMb: number): { blank?: Promise<BlankIsolate>, after: () => void } {
    if (this.count === 0) return { after: () => {} }
    const after = (): void => { this.add(memoryMb) }
    const i = this.spares.findIndex((s) => s.memoryMb === memoryMb)
    if (i < 0) {
      if (this.spares.length >= this.count) void this.spares.shift()?.ready.then((b) => { b.dispose() }, () => {})
      return { after }
    }
    const [spare] = this.spares.splice(i, 1)
    return { blank: spare?.ready, after }
  }

  private add (memoryMb: number): void {
    if (this.closed || this.spares.length >= this.count) return
    const spare: Spare = { memoryMb, ready: BlankIsolate.create(memoryMb) }
    this.spares.push(spare)
    spare.ready.then((b) => {
      spare.blank = b
      if (this.closed) b.dispose()
    }, (err: unknown) => {
      this.log.warn('a spare isolate failed to start', { error: (err as Error)?.message ?? String(err) })
      const i = this.spares.indexOf(spare)
      if (i >= 0) this.spares.splice(i, 1)
    })
  }

  /** Resolves once the spares being made are made. */
  async ready (): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve))
    await Promise.allSettled(this.spares.map((s) => s.ready))
  }

  heapBytes (): number { return this.spares.reduce((n, s) => n + (s.blank?.heapBytes() ?? 0), 0) }

  async measureHeap (): Promise<number> {
    const all = await Promise.all(this.spares.map(async (s) => await s.blank?.measureHeap() ?? 0))
    return all.reduce((a, b) => a + b, 0)
  }

  /** Disposes every spare; resolves once those still being made are gone too. */
  async close (): Promise<void> {
    this.closed = true
    const all = this.spares.splice(0)
    for (const s of all) s.blank?.dispose()
    await Promise.allSettled(all.map((s) => s.ready))
  }
}
