import type { Manifest } from '../protocol/messages.js'

/** What the demand view reads of a deployed function (the simulator passes its functions in this form). */
export type DemandFn = Pick<Manifest, 'name' | 'concurrency' | 'memory_mb'>
import type { FnDemand } from './policies/types.js'
import { ewma, FN_DEMAND_ALPHA } from './policies/estimates.js'

/**
 * Per-function demand as the policies see it: arrivals since the last scale tick, in-flight
 * count, the mean service time at reference speed (EWMA of run_ms × board speed), and the
 * cold-start cost at reference speed once learned (see `complete`).
 */
export class DemandTracker {
  private readonly arrivals = new Map<string, number>()
  private readonly serviceMs = new Map<string, number>()
  /** Per function: a cold run's time on the board beyond its queue and run (reference ms, EWMA). */
  private readonly coldExtra = new Map<string, number>()
  /** All functions: a warm run's time on the board beyond its queue and run (reference ms, EWMA): handing it over, the reply. */
  private warmExtra = 0
  /** The last full view, with the entry of each function refreshed as it is dispatched (see `current`). */
  private live: Record<string, FnDemand> | null = null

  constructor (private readonly alpha = FN_DEMAND_ALPHA) {}

  arrive (fn: string): void { this.arrivals.set(fn, (this.arrivals.get(fn) ?? 0) + 1) }

  /**
   * A receipt of fn from a board of `speed`: its `run_ms`, and when given, its time on the board
   * beyond queue and run (`total_ms − queue_ms − run_ms`, the board's own figures) and whether it
   * was cold. A cold run's extra time less a warm run's is the function's cold-start cost.
   */
  complete (fn: string, runMs: number, speed: number, extraMs?: number, cold?: boolean): void {
    this.serviceMs.set(fn, ewma(this.serviceMs.get(fn), runMs * speed, this.alpha))
    if (extraMs === undefined || !(extraMs >= 0)) return
    if (cold === true) this.coldExtra.set(fn, ewma(this.coldExtra.get(fn), extraMs * speed, this.alpha))
    else this.warmExtra = ewma(this.warmExtra, extraMs * speed, this.alpha)
  }

  /** The function's mean service time at reference speed (ms; 0 = not measured yet). */
  serviceMsOf (fn: string): number { return this.serviceMs.get(fn) ?? 0 }

  /** The function's cold-start cost at reference speed (ms), once a cold receipt of it came; undefined before. */
  coldMsOf (fn: string): number | undefined {
    const c = this.coldExtra.get(fn)
    return c === undefined ? undefined : Math.max(0, c - this.warmExtra)
  }

  private entry (m: DemandFn, inflight: ReadonlyMap<string, number>, queueLimit?: number): FnDemand {
    const cold = this.coldMsOf(m.name)
    // Optional fields set after the literal, not spread into it: this runs on every dispatch.
    const e: { -readonly [K in keyof FnDemand]: FnDemand[K] } & { queueLimit?: number } = {
      arrivals: this.arrivals.get(m.name) ?? 0,
      inflight: inflight.get(m.name) ?? 0,
      serviceMs: this.serviceMs.get(m.name) ?? 0,
      concurrency: m.concurrency,
      memoryMb: m.memory_mb
    }
    if (cold !== undefined) e.coldMs = cold
    if (queueLimit !== undefined) e.queueLimit = queueLimit
    return e
  }

  /** Demand per deployed function; `consume` starts a new arrivals window (the scale tick does). */
  view (manifests: readonly DemandFn[], inflight: ReadonlyMap<string, number>, consume: boolean, queueLimit?: number): Record<string, FnDemand> {
    const out: Record<string, FnDemand> = {}
    for (const m of manifests) out[m.name] = this.entry(m, inflight, queueLimit)
    if (consume) this.arrivals.clear()
    this.live = consume ? Object.fromEntries(Object.entries(out).map(([fn, d]) => [fn, { ...d, arrivals: 0 }])) : { ...out }
    return out
  }

  /**
   * Demand for routing one invocation of `m`, without a pass over every deployed function:
   * the last full view with `m`'s entry brought up to date. Other functions' entries are as of
   * their last dispatch or the last full view (the scale tick takes one), and a function
   * removed since is still listed until then. `manifests` is only read for the first view.
   */
  current (m: DemandFn, inflight: ReadonlyMap<string, number>, manifests: () => readonly DemandFn[]): Readonly<Record<string, FnDemand>> {
    const live = this.live ??= { ...this.view(manifests(), inflight, false) }
    live[m.name] = this.entry(m, inflight)
    return live
  }
}
