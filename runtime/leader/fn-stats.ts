import type { FnStatsView } from '../protocol/admin.js'
import type { Completion } from './leader.js'

/** Latencies kept per function for the percentiles (the newest ones). */
export const LATENCY_WINDOW = 1000

/** `totals` is a ring of the newest LATENCY_WINDOW latencies; `next` is where the next one goes. */
interface Acc { invocations: number, errors: number, energyMj: number, metered: number, totals: number[], next: number }

const percentile = (sorted: readonly number[], q: number): number | null =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number

/** Per-function invocations, errors, latency percentiles and energy per invocation, from the leader's completions. */
export class FnStats {
  private readonly byFn = new Map<string, Acc>()

  record (c: Completion): void {
    let a = this.byFn.get(c.fn)
    if (a === undefined) { a = { invocations: 0, errors: 0, energyMj: 0, metered: 0, totals: [], next: 0 }; this.byFn.set(c.fn, a) }
    a.invocations++
    if (!c.reply.ok) a.errors++
    if (c.reply.receipt !== undefined) { a.energyMj += c.reply.receipt.energy_mj; a.metered++ }
    if (a.totals.length < LATENCY_WINDOW) a.totals.push(c.totalMs); else a.totals[a.next] = c.totalMs
    a.next = (a.next + 1) % LATENCY_WINDOW
  }

  forget (fn: string): void { this.byFn.delete(fn) }

  view (fn: string): FnStatsView {
    const a = this.byFn.get(fn)
    if (a === undefined) return { invocations: 0, errors: 0, p50_ms: null, p99_ms: null, energy_mj_per_invocation: null }
    const sorted = [...a.totals].sort((x, y) => x - y)
    const round = (n: number | null): number | null => n === null ? null : Math.round(n * 100) / 100
    return {
      invocations: a.invocations,
      errors: a.errors,
      p50_ms: round(percentile(sorted, 0.5)),
      p99_ms: round(percentile(sorted, 0.99)),
      energy_mj_per_invocation: a.metered === 0 ? null : round(a.energyMj / a.metered)
    }
  }
}
