import type { Triggers } from '../protocol/triggers.js'
import { WispError } from '../shared/errors.js'
import { RateLimiter } from './rate-limit.js'

type Limits = Pick<Triggers, 'concurrency' | 'rate' | 'burst'>

/**
 * The per-trigger limits of triggered invocations: for each function, each of its triggers
 * (a topic filter, or its schedule) holds at most `concurrency` invocations in flight and
 * starts at most `rate` a second (a token bucket of `burst`). Pure state plus the time given.
 */
export class TriggerGate {
  private readonly fns = new Map<string, { limits: Limits, rate: RateLimiter, inflight: Map<string, number> }>()

  /** Admits one event of `fn`'s trigger `key` at `now`, or says why not. */
  admit (fn: string, key: string, limits: Limits, now: number): WispError | null {
    const f = this.entry(fn, limits)
    const n = f.inflight.get(key) ?? 0
    if (n >= limits.concurrency) return new WispError('WISP_OVERLOADED', `trigger ${key} of "${fn}" already has ${n} invocations in flight (its concurrency limit)`)
    if (!f.rate.take(key, now)) return new WispError('WISP_RATE_LIMITED', `trigger ${key} of "${fn}" is over its rate of ${limits.rate}/s`)
    f.inflight.set(key, n + 1)
    return null
  }

  /** One admitted invocation of `fn`'s trigger `key` has finished, however it ended. */
  finished (fn: string, key: string): void {
    const f = this.fns.get(fn)
    if (f === undefined) return
    const n = (f.inflight.get(key) ?? 1) - 1
    if (n > 0) f.inflight.set(key, n); else f.inflight.delete(key)
  }

  inflight (fn: string, key: string): number { return this.fns.get(fn)?.inflight.get(key) ?? 0 }

  /** Forgets a removed function (its in-flight count is dropped with it). */
  forget (fn: string): void { this.fns.delete(fn) }

  private entry (fn: string, limits: Limits): { limits: Limits, rate: RateLimiter, inflight: Map<string, number> } {
    let f = this.fns.get(fn)
    if (f === undefined || f.limits.rate !== limits.rate || f.limits.burst !== limits.burst) {
      f = { limits, rate: new RateLimiter(limits.rate, limits.burst, 64), inflight: f?.inflight ?? new Map() }
      this.fns.set(fn, f)
    }
    f.limits = limits
    return f
  }
}
