import type { ClusterView, Decision, ScalePolicy, ScaleResult } from './types.js'
import type { Rng } from '../../shared/rng.js'
import { holtForecast, holtUpdate, serversFor, type HoltState } from './queueing.js'

export interface ProactiveOptions {
  readonly intervalMs: number
  /** Holt smoothing of the per-interval arrival rate. */
  readonly alpha: number
  readonly beta: number
  /** How far ahead to plan (ms): the time to warm a runtime plus one interval. */
  readonly horizonMs: number
  /** Standard deviations of forecast error added as safety margin. */
  readonly z: number
  /** p99 latency target as a multiple of the function's service time (with `minSlackMs` at least of waiting). */
  readonly p99Factor: number
  readonly minSlackMs: number
  /** No arrivals for this long (and none forecast) = scale to zero. */
  readonly idleToZeroMs: number
  readonly defaultServiceMs: number
}

export const PROACTIVE_DEFAULTS: ProactiveOptions = {
  intervalMs: 2000, alpha: 0.5, beta: 0.2, horizonMs: 6000, z: 2, p99Factor: 3, minSlackMs: 20, idleToZeroMs: 120_000, defaultServiceMs: 100
}

interface FnState { holt: HoltState, lastArrivalAt: number }

/**
 * Mu's proactive autoscaler: forecast each function's arrival rate (Holt level + trend, plus
 * z·σ of recent forecast error), then size warm runtimes with an M/M/c model so that the p99
 * wait keeps the p99 latency under p99Factor × the service time. Targets are in
 * reference-speed runtimes; the fair placement converts them to boards by speed.
 */
export const createProactiveScale = (opts: Partial<ProactiveOptions> = {}): ScalePolicy & { readonly state: Map<string, FnState> } => {
  const o = { ...PROACTIVE_DEFAULTS, ...opts }
  const state = new Map<string, FnState>()
  return {
    name: 'proactive',
    intervalMs: o.intervalMs,
    state,
    tick (view: ClusterView, _rng: Rng): ScaleResult {
      const targets: Record<string, number> = {}
      const forecast: Record<string, number> = {}
      const rows: Array<{ fn: string, c: number, arrivals: number, rate: number, level: number, trend: number, f: number, plan: number, serviceMs: number, slack: number }> = []
      const fns = view.fns ?? {}
      for (const fn of Object.keys(fns).sort()) {
        const d = fns[fn]
        if (d === undefined) continue
        const st = state.get(fn) ?? { holt: { level: 0, trend: 0, errVar: 0, n: 0 }, lastArrivalAt: -Infinity }
        const rate = d.arrivals / (o.intervalMs / 1000)
        st.holt = holtUpdate(st.holt, rate, o.alpha, o.beta)
        if (d.arrivals > 0 || d.inflight > 0) st.lastArrivalAt = view.now
        state.set(fn, st)
        const f = holtForecast(st.holt, o.horizonMs / o.intervalMs)
        const plan = Math.max(f, st.holt.level, rate) + o.z * Math.sqrt(st.holt.errVar)
        const serviceMs = d.serviceMs > 0 ? d.serviceMs : o.defaultServiceMs
        const slack = Math.max(o.minSlackMs, (o.p99Factor - 1) * serviceMs)
        let c = serversFor(plan, serviceMs, slack)
        // Work already in flight needs its runtimes too (a burst the forecast has not seen yet).
        c = Math.max(c, Math.ceil(d.inflight / Math.max(1, d.concurrency)))
        const idle = view.now - st.lastArrivalAt >= o.idleToZeroMs
        if (idle) c = 0
        else if (c === 0) c = 1
        targets[fn] = c
        forecast[fn] = Math.max(f, st.holt.level)
        rows.push({ fn, c, arrivals: d.arrivals, rate, level: st.holt.level, trend: st.holt.trend, f, plan, serviceMs, slack })
      }
      const now = view.now
      // Decisions are built when read (the simulator reads them only when it records them).
      let decisions: Decision[] | undefined
      return {
        targets,
        forecast,
        get decisions (): Decision[] {
          decisions ??= rows.map((r) => ({
            kind: 'scale', policy: 'proactive', at: now, fn: r.fn, choice: null, scores: { runtimes: r.c },
            inputs: { arrivals: r.arrivals, rate: r.rate, level: r.level, trend: r.trend, forecast: r.f, plan: r.plan, service_ms: r.serviceMs, p99_wait_ms: r.slack },
            reason: r.c === 0 ? 'idle: scale to zero' : 'M/M/c p99 wait within target at forecast rate'
          }))
          return decisions
        }
      }
    }
  }
}
