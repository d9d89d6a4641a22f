import type { BoardProfile } from '../../../boards/schema.js'

/**
 * Online estimates of one function's run time and energy per board profile, from receipts: an
 * exponentially weighted mean and variance of each. Before any receipt the prior is the
 * profile's claim: the function's reference-speed run time ÷ the profile's speed, at one busy
 * core's share of the profile's active power. Pure state + update; the live leader feeds it
 * receipts, the simulator its completions.
 */
export interface Estimate { readonly mean: number, readonly variance: number }
export interface Profiled { readonly runMs: Estimate, readonly energyMj: Estimate, readonly samples: number }

/** Weight of a new receipt. */
export const LEARNER_ALPHA = 0.2
/** Reference-speed run time assumed for a function nothing is known of (ms). */
export const UNKNOWN_REF_MS = 100

interface Cell { runMean: number, runVar: number, eMean: number, eVar: number, n: number }

/** Energy (mJ) of `runMs` on one core of `p` at full load: its share of (peak − idle) plus its share of idle. */
export const priorEnergyMj = (p: BoardProfile, runMs: number): number =>
  runMs * ((p.peak_w - p.idle_w) / p.cores + p.idle_w / p.cores)

/** Incremental EWMA of mean and variance (Finch 2009). */
const step = (mean: number, variance: number, x: number, a: number): [number, number] => {
  const d = x - mean
  const inc = a * d
  return [mean + inc, (1 - a) * (variance + d * inc)]
}

export class EnergyLearner {
  private readonly cells = new Map<string, Cell>()
  constructor (readonly alpha = LEARNER_ALPHA) {}

  private static key (fn: string, profile: string): string { return `${fn}\u0000${profile}` }

  /** One receipt of `fn` on a board of profile `p`. Non-finite or negative figures are ignored. */
  observe (fn: string, p: BoardProfile, runMs: number, energyMj: number, refMs = UNKNOWN_REF_MS): void {
    if (!(runMs >= 0 && Number.isFinite(runMs)) || !(energyMj >= 0 && Number.isFinite(energyMj))) return
    const k = EnergyLearner.key(fn, p.name)
    let c = this.cells.get(k)
    if (c === undefined) {
      const prior = refMs / p.speed
      c = { runMean: prior, runVar: 0, eMean: priorEnergyMj(p, prior), eVar: 0, n: 0 }
      this.cells.set(k, c)
    }
    ;[c.runMean, c.runVar] = step(c.runMean, c.runVar, runMs, this.alpha)
    ;[c.eMean, c.eVar] = step(c.eMean, c.eVar, energyMj, this.alpha)
    c.n++
  }

  /** Whether any receipt of `fn` on profile `p` was observed (the prior is no longer read). */
  knows (fn: string, p: BoardProfile): boolean { return this.cells.has(EnergyLearner.key(fn, p.name)) }

  /** The estimate for `fn` on profile `p`; `refMs` = its reference-speed run time (the prior when nothing was observed). */
  estimate (fn: string, p: BoardProfile, refMs = UNKNOWN_REF_MS): Profiled {
    const c = this.cells.get(EnergyLearner.key(fn, p.name))
    if (c === undefined) {
      const run = (refMs > 0 ? refMs : UNKNOWN_REF_MS) / p.speed
      return { runMs: { mean: run, variance: 0 }, energyMj: { mean: priorEnergyMj(p, run), variance: 0 }, samples: 0 }
    }
    return { runMs: { mean: c.runMean, variance: c.runVar }, energyMj: { mean: c.eMean, variance: c.eVar }, samples: c.n }
  }
}
