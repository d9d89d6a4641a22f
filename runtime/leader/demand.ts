import type { Manifest } from '../protocol/messages.js'
import type { FnDemand } from './policies/types.js'

/**
 * Per-function demand as the policies see it: arrivals since the last scale tick, in-flight
 * count, and the mean service time at reference speed (EWMA of run_ms × board speed).
 */
export class DemandTracker {
  private readonly arrivals = new Map<string, number>()
  private readonly serviceMs = new Map<string, number>()

  constructor (private readonly alpha = 0.2) {}

  arrive (fn: string): void { this.arrivals.set(fn, (this.arrivals.get(fn) ?? 0) + 1) }

  complete (fn: string, runMs: number, speed: number): void {
    const ref = runMs * speed
    const prev = this.serviceMs.get(fn)
    this.serviceMs.set(fn, prev === undefined ? ref : this.alpha * ref + (1 - this.alpha) * prev)
  }

  /** Demand per deployed function; `consume` starts a new arrivals window (the scale tick does). */
  view (manifests: readonly Manifest[], inflight: ReadonlyMap<string, number>, consume: boolean, queueLimit?: number): Record<string, FnDemand> {
    const out: Record<string, FnDemand> = {}
    for (const m of manifests) {
      out[m.name] = {
        arrivals: this.arrivals.get(m.name) ?? 0,
        inflight: inflight.get(m.name) ?? 0,
        serviceMs: this.serviceMs.get(m.name) ?? 0,
        concurrency: m.concurrency,
        memoryMb: m.memory_mb,
        ...(queueLimit === undefined ? {} : { queueLimit })
      }
    }
    if (consume) this.arrivals.clear()
    return out
  }
}
