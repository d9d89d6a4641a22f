import type { FunctionStats } from '../protocol/messages.js'
import type { Clock } from '../shared/clock.js'
import { WispError } from '../shared/errors.js'
import { ServiceRate } from './service-rate.js'

interface FnCounters { pending: number, running: number, readonly rate: ServiceRate }

/**
 * Admission and the figures the agent gossips: a bounded queue per function (past the bound
 * the reply is WISP_OVERLOADED at once) and the service rate, completions/s (ServiceRate).
 */
export class AdmissionQueue {
  private readonly fns = new Map<string, FnCounters>()

  constructor (private readonly limit: number, private readonly clock: Clock) {}

  private of (fn: string): FnCounters {
    let c = this.fns.get(fn)
    if (c === undefined) { c = { pending: 0, running: 0, rate: new ServiceRate() }; this.fns.set(fn, c) }
    return c
  }

  /** Accepts an invocation or throws WISP_OVERLOADED. */
  admit (fn: string): void {
    const c = this.of(fn)
    if (c.pending >= this.limit) throw new WispError('WISP_OVERLOADED', `the queue for "${fn}" is full (${this.limit} pending)`)
    c.pending++
  }

  started (fn: string): void {
    const c = this.of(fn)
    c.running++
    c.rate.started(this.clock.now())
  }

  /** An admitted invocation ended; `ranMs` is how long it ran, undefined if it never started. */
  finished (fn: string, ranMs: number | undefined): void {
    const c = this.of(fn)
    c.pending = Math.max(0, c.pending - 1)
    if (ranMs !== undefined) { c.running = Math.max(0, c.running - 1); c.rate.completed(this.clock.now(), ranMs) }
  }

  stats (runtimes: Readonly<Record<string, { runtimes: number }>>): Record<string, FunctionStats> {
    const out: Record<string, FunctionStats> = {}
    const now = this.clock.now()
    for (const [fn, c] of this.fns) {
      out[fn] = { queue_len: Math.max(0, c.pending - c.running), service_rate: round(c.rate.rate(now)), running: c.running, runtimes: runtimes[fn]?.runtimes ?? 0 }
    }
    for (const [fn, r] of Object.entries(runtimes)) out[fn] ??= { queue_len: 0, service_rate: 0, running: 0, runtimes: r.runtimes }
    return out
  }

  totals (): { queueLen: number, serviceRate: number } {
    let queueLen = 0
    let serviceRate = 0
    const now = this.clock.now()
    for (const c of this.fns.values()) { queueLen += Math.max(0, c.pending - c.running); serviceRate += c.rate.rate(now) }
    return { queueLen, serviceRate: round(serviceRate) }
  }
}

const round = (x: number): number => Math.round(x * 1000) / 1000
