import type { FunctionStats } from '../protocol/messages.js'
import { WispError } from '../shared/errors.js'

interface FnCounters { pending: number, running: number, completions: number, rate: number }

/**
 * Admission and the figures the agent gossips: a bounded queue per function (past the bound
 * the reply is WISP_OVERLOADED at once) and the service rate, an EWMA of completions/s.
 */
export class AdmissionQueue {
  private readonly fns = new Map<string, FnCounters>()

  constructor (private readonly limit: number, private readonly alpha = 0.3) {}

  private of (fn: string): FnCounters {
    let c = this.fns.get(fn)
    if (c === undefined) { c = { pending: 0, running: 0, completions: 0, rate: 0 }; this.fns.set(fn, c) }
    return c
  }

  /** Accepts an invocation or throws WISP_OVERLOADED. */
  admit (fn: string): void {
    const c = this.of(fn)
    if (c.pending >= this.limit) throw new WispError('WISP_OVERLOADED', `the queue for "${fn}" is full (${this.limit} pending)`)
    c.pending++
  }

  started (fn: string): void { this.of(fn).running++ }

  finished (fn: string, ran: boolean): void {
    const c = this.of(fn)
    c.pending = Math.max(0, c.pending - 1)
    if (ran) { c.running = Math.max(0, c.running - 1); c.completions++ }
  }

  /** Folds the completions of the last interval into each service rate (call once per gossip). */
  roll (intervalMs: number): void {
    for (const c of this.fns.values()) {
      const inst = c.completions / (intervalMs / 1000)
      c.rate = c.rate === 0 ? inst : this.alpha * inst + (1 - this.alpha) * c.rate
      c.completions = 0
    }
  }

  stats (runtimes: Readonly<Record<string, { runtimes: number }>>): Record<string, FunctionStats> {
    const out: Record<string, FunctionStats> = {}
    for (const [fn, c] of this.fns) {
      out[fn] = { queue_len: Math.max(0, c.pending - c.running), service_rate: round(c.rate), running: c.running, runtimes: runtimes[fn]?.runtimes ?? 0 }
    }
    for (const [fn, r] of Object.entries(runtimes)) out[fn] ??= { queue_len: 0, service_rate: 0, running: 0, runtimes: r.runtimes }
    return out
  }

  totals (): { queueLen: number, serviceRate: number } {
    let queueLen = 0
    let serviceRate = 0
    for (const c of this.fns.values()) { queueLen += Math.max(0, c.pending - c.running); serviceRate += c.rate }
    return { queueLen, serviceRate: round(serviceRate) }
  }
}

const round = (x: number): number => Math.round(x * 1000) / 1000
