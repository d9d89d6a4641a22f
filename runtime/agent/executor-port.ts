import type { Manifest } from '../protocol/messages.js'
import type { WispError } from '../shared/errors.js'
import type { CapCall, CapResult } from '../protocol/capabilities.js'

/** What the agent asks of the isolate runtime (runtime-pool.ts implements it). */
export interface ExecRequest {
  readonly invocation: string
  readonly requestId: string
  readonly manifest: Manifest
  /** Module source (ES module text with `export async function handler`). */
  readonly code: string
  readonly event: unknown
  /** The function's secrets, handed to the handler as the frozen `context.env` (never logged). */
  readonly env?: Readonly<Record<string, string>>
  /** Absolute deadline on the wall clock (Date.now(), ms): code runs in real time; the watchdog also enforces manifest.timeout_ms. */
  readonly deadlineMs: number
  /** Called once when the invocation leaves the queue and starts running (for energy attribution). */
  readonly onStart?: () => void
  /**
   * Called when the handler starts to run in its runtime, with the wall time it may take (ms);
   * again, from then on, when an emulated slow board stretches the run after it ended.
   */
  readonly onRunning?: (budgetMs: number) => void
  /**
   * Called once the invocation's code has certainly stopped: when its outcome is known, or,
   * if it ran out of time, once the watchdog found its runtime answering or disposed it.
   */
  readonly onStopped?: () => void
  /**
   * Serves the handler's capability calls (context.publish, kv, invoke), already checked against
   * the schema and the per-invocation limits; without it every call is refused. `budgetMs` is what
   * is left of the run's time (a chained invoke gets no more). Need not bound itself in time: the
   * runtime answers WISP_TIMEOUT at the invocation's deadline.
   */
  readonly onCap?: (call: CapCall, budgetMs: number) => Promise<CapResult>
}

export interface ExecOutcomeBase {
  /** True when this invocation had to build a new runtime (isolate + compile + init). */
  readonly cold: boolean
  /** Wall time in the runtime, ms. */
  readonly runMs: number
  /**
   * Wall time (ms) the invocation waited for a runtime before its own was taken or built: for a
   * free slot in its function's runtimes, or for memory budget that busy runtimes held. Absent = 0.
   */
  readonly waitMs?: number
  /** CPU time attributed to this invocation, ms (an estimate when invocations co-execute). */
  readonly cpuMs: number
  /** console.log / context.log lines captured for this invocation (bounded). */
  readonly logs: readonly string[]
}
export type ExecOutcome =
  | (ExecOutcomeBase & { readonly ok: true, readonly result: unknown })
  | (ExecOutcomeBase & { readonly ok: false, readonly error: WispError })

export interface RuntimeStats { readonly runtimes: number, readonly running: number }

export interface Executor {
  /** Runs one invocation; never rejects — failures come back as `ok: false` with a WispError. */
  invoke: (req: ExecRequest) => Promise<ExecOutcome>
  /** Checks that code compiles and exports a handler; rejects with WISP_BAD_CODE otherwise. */
  validate: (manifest: Manifest, code: string) => Promise<void>
  /** Leader's target of warm runtimes for a function on this board. */
  setWarm: (manifest: Manifest, code: string, runtimes: number) => Promise<void>
  evict: (fn: string) => void
  stats: () => Readonly<Record<string, RuntimeStats>>
  /** Heap in use by all isolates, MiB. */
  memMb: () => number
  close: () => Promise<void>
}
