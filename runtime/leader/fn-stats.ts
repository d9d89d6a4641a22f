import type { FnError, FnStatsView } from '../protocol/admin.js'
import type { Completion } from './leader.js'

/** Latencies kept per function for the percentiles (the newest ones). */
export const LATENCY_WINDOW = 1000
/** Failures kept per function for `wisp describe` and the cluster page (the newest ones). */
export const RECENT_ERRORS = 5

/** `totals` is a ring of the newest LATENCY_WINDOW latencies; `next` is where the next one goes. */
interface Acc {
  invocations: number, errors: number, energyMj: number, metered: number, carbonMg: number, carbonN: number,
  totals: number[], next: number, recent: FnError[]
}

const percentile = (sorted: readonly number[], q: number): number | null =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number

const round2 = (n: number | null): number | null => n === null ? null : Math.round(n * 100) / 100
/** Carbon per invocation is often well under a milligram: three significant digits, not two decimals. */
const sig3 = (n: number): number => n === 0 ? 0 : Number(n.toPrecision(3))

/**
 * Per-function invocations, errors, latency percentiles, energy and carbon per invocation, total
 * carbon and the newest failures, from the leader's completions. The one source of these figures
 * for `wisp ls`, `wisp describe` and the cluster page.
 */
export class FnStats {
  private readonly byFn = new Map<string, Acc>()

  /** `at`: when the gateway saw the completion (ms since the epoch). */
  record (c: Completion, at: number): void {
    let a = this.byFn.get(c.fn)
    if (a === undefined) { a = { invocations: 0, errors: 0, energyMj: 0, metered: 0, carbonMg: 0, carbonN: 0, totals: [], next: 0, recent: [] }; this.byFn.set(c.fn, a) }
    a.invocations++
    if (!c.reply.ok) {
      a.errors++
      a.recent.push({ code: c.reply.error.code, message: c.reply.error.message, at, request_id: c.requestId, board: c.board })
      if (a.recent.length > RECENT_ERRORS) a.recent.shift()
    }
    const r = c.reply.receipt
    if (r !== undefined) {
      a.energyMj += r.energy_mj; a.metered++
      if (r.carbon_mg !== undefined) { a.carbonMg += r.carbon_mg; a.carbonN++ }
    }
    if (a.totals.length < LATENCY_WINDOW) a.totals.push(c.totalMs); else a.totals[a.next] = c.totalMs
    a.next = (a.next + 1) % LATENCY_WINDOW
  }

  forget (fn: string): void { this.byFn.delete(fn) }

  view (fn: string): FnStatsView {
    const a = this.byFn.get(fn)
    if (a === undefined) return { invocations: 0, errors: 0, p50_ms: null, p99_ms: null, energy_mj_per_invocation: null, carbon_mg_per_invocation: null, carbon_mg_total: null }
    const sorted = [...a.totals].sort((x, y) => x - y)
    return {
      invocations: a.invocations,
      errors: a.errors,
      p50_ms: round2(percentile(sorted, 0.5)),
      p99_ms: round2(percentile(sorted, 0.99)),
      energy_mj_per_invocation: a.metered === 0 ? null : round2(a.energyMj / a.metered),
      carbon_mg_per_invocation: a.carbonN === 0 ? null : sig3(a.carbonMg / a.carbonN),
      carbon_mg_total: a.carbonN === 0 ? null : sig3(a.carbonMg)
    }
  }

  /** The newest failures of `fn`, newest first. */
  recentErrors (fn: string): FnError[] {
    return [...(this.byFn.get(fn)?.recent ?? [])].reverse()
  }
}
