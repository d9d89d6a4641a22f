import type { ClusterView, Decision, ScalePolicy, ScaleResult } from './types.js'
import type { Rng } from '../../shared/rng.js'

/** Knative Pod Autoscaler settings, defaults as documented in Knative Serving's config-autoscaler. */
export interface KpaOptions {
  /** Metric sampling and decision period. Knative scrapes every second and ticks every 2 s; we do both every second. */
  readonly intervalMs: number
  /** stable-window: 60 s. */
  readonly stableWindowMs: number
  /** panic-window-percentage: 10 % of the stable window = 6 s. */
  readonly panicWindowMs: number
  /** panic-threshold-percentage: 200 %. */
  readonly panicThreshold: number
  /** container-concurrency-target-default: 100 (soft target when the function's concurrency is unlimited). */
  readonly targetDefault: number
  /** container-concurrency-target-percentage: 70 %. */
  readonly targetUtilisation: number
  /** max-scale-up-rate 1000, max-scale-down-rate 2. */
  readonly maxScaleUpRate: number
  readonly maxScaleDownRate: number
  /** scale-to-zero-grace-period: 30 s. */
  readonly scaleToZeroGraceMs: number
}

export const KPA_DEFAULTS: KpaOptions = {
  intervalMs: 1000,
  stableWindowMs: 60_000,
  panicWindowMs: 6000,
  panicThreshold: 2,
  targetDefault: 100,
  targetUtilisation: 0.7,
  maxScaleUpRate: 1000,
  maxScaleDownRate: 2,
  scaleToZeroGraceMs: 30_000
}

interface FnState { samples: number[], next: number, panicUntil: number, zeroSince: number | null, last: number }

export type KpaPolicy = ScalePolicy & { readonly state: Map<string, FnState>, readonly options: KpaOptions }

/**
 * Knative's KPA: desired = ceil(average concurrency / target per runtime) over the 60 s stable
 * window; when the 6 s panic window asks for ≥ 200 % of the ready runtimes, panic mode scales
 * on the panic window and never down, until a stable window passes without panic. Scale to
 * zero only after the desired count has stayed 0 for the grace period.
 */
export const createKpa = (opts: Partial<KpaOptions> = {}): KpaPolicy => {
  const o = { ...KPA_DEFAULTS, ...opts }
  const stableN = Math.max(1, Math.round(o.stableWindowMs / o.intervalMs))
  const panicN = Math.max(1, Math.round(o.panicWindowMs / o.intervalMs))
  const state = new Map<string, FnState>()
  const avg = (st: FnState, n: number): number => {
    const have = Math.min(n, st.samples.length)
    let s = 0
    for (let k = 1; k <= have; k++) s += st.samples[(st.next - k + stableN) % stableN] ?? 0
    return have === 0 ? 0 : s / have
  }
  return {
    name: 'knative-kpa',
    intervalMs: o.intervalMs,
    state,
    options: o,
    tick (view: ClusterView, _rng: Rng): ScaleResult {
      const targets: Record<string, number> = {}
      const forecast: Record<string, number> = {}
      const decisions: Decision[] = []
      const fns = view.fns ?? {}
      for (const fn of Object.keys(fns).sort()) {
        const d = fns[fn]
        if (d === undefined) continue
        let st = state.get(fn)
        if (st === undefined) { st = { samples: [], next: 0, panicUntil: -Infinity, zeroSince: null, last: 0 }; state.set(fn, st) }
        // The in-flight count at the tick: a per-second sample, as the queue-proxies report (both views carry it).
        const sample = d.inflight
        if (st.samples.length < stableN) st.samples.push(sample); else st.samples[st.next] = sample
        st.next = (st.next + 1) % stableN
        let ready = 0
        for (const b of view.boards) if (b.routable) ready += b.functions[fn]?.runtimes ?? 0
        const perRuntime = (d.concurrency > 0 ? d.concurrency : o.targetDefault) * o.targetUtilisation
        const stable = avg(st, stableN)
        const panic = avg(st, panicN)
        const wantStable = Math.ceil(stable / perRuntime - 1e-9)
        const wantPanic = Math.ceil(panic / perRuntime - 1e-9)
        if (wantPanic / Math.max(1, ready) >= o.panicThreshold) st.panicUntil = view.now + o.stableWindowMs
        const inPanic = view.now < st.panicUntil
        let want = inPanic ? Math.max(wantPanic, st.last) : wantStable
        want = Math.min(want, Math.ceil(o.maxScaleUpRate * Math.max(1, ready)))
        if (!inPanic) want = Math.max(want, Math.floor(ready / o.maxScaleDownRate))
        if (want === 0) {
          if (st.zeroSince === null) st.zeroSince = view.now
          if (view.now - st.zeroSince < o.scaleToZeroGraceMs && st.last > 0) want = 1
        } else st.zeroSince = null
        st.last = want
        targets[fn] = want
        forecast[fn] = d.arrivals / (o.intervalMs / 1000)
        decisions.push({
          kind: 'scale', policy: 'knative-kpa', at: view.now, fn, choice: null, scores: { runtimes: want },
          inputs: { sample, stable_concurrency: stable, panic_concurrency: panic, target_per_runtime: perRuntime, ready, panic: inPanic },
          reason: inPanic ? 'panic: scale on the 6 s window, never down' : 'stable: 60 s average concurrency / target'
        })
      }
      return { targets, forecast, decisions }
    }
  }
}
