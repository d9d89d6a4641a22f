import type { ClusterView } from './types.js'
import type { EnergyLearner } from './learner.js'
import { clusterDrawW } from './power-cap.js'

export const VARIANT_DEFAULTS = Object.freeze({
  /** At or above this grid intensity (gCO2/kWh) carbon is "high": the cheapest variant runs. */
  highG: 250,
  /** The cap is "tight" when the cluster draws at least this share of it. */
  tightCap: 0.9
})
export type VariantParams = typeof VARIANT_DEFAULTS

/**
 * Which of a function's variants runs an invocation whose caller accepts variants: the function
 * itself (its own name, first in `candidates`) unless carbon is high or the power cap is tight,
 * then the candidate with the least learned energy, averaged over the routable boards' profiles
 * (ties: the earlier candidate). `refMs(fn)` is a candidate's reference run time (the learner's
 * prior when nothing was observed). Pure: the view, the learner and the intensity are the caller's.
 */
export const pickVariant = (
  a: { view: ClusterView, candidates: readonly string[], gNow: number, capW: number | null, learner: EnergyLearner, refMs: (fn: string) => number },
  p: VariantParams = VARIANT_DEFAULTS
): { fn: string, reason: 'default' | 'high-carbon' | 'tight-cap', energyMj: Record<string, number> } => {
  const first = a.candidates[0]
  if (first === undefined) throw new Error('pickVariant: no candidates')
  const tight = a.capW !== null && clusterDrawW(a.view) >= p.tightCap * a.capW
  const high = a.gNow >= p.highG
  const boards = a.view.boards.filter((b) => b.routable)
  const energyMj: Record<string, number> = {}
  for (const fn of a.candidates) {
    const ref = a.refMs(fn)
    energyMj[fn] = boards.length === 0 ? 0 : boards.reduce((s, b) => s + a.learner.estimate(fn, b.profile, ref).energyMj.mean, 0) / boards.length
  }
  if (!high && !tight) return { fn: first, reason: 'default', energyMj }
  let best = first
  for (const fn of a.candidates) if ((energyMj[fn] ?? Infinity) < (energyMj[best] ?? Infinity)) best = fn
  return { fn: best, reason: tight ? 'tight-cap' : 'high-carbon', energyMj }
}
