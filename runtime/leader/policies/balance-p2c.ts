import type { BalancePolicy, ClusterView, Decision } from './types.js'
import type { Rng } from '../../shared/rng.js'
import { outstanding, warmCandidates } from './candidates.js'

/**
 * Power of two choices (Mitzenmacher): sample two distinct warm boards at random and send the
 * invocation to the one with fewer outstanding invocations. Speed-blind on purpose: it is the
 * classic load-balancing baseline (Envoy's and Knative activator's least-request).
 */
export const p2c: BalancePolicy = {
  name: 'p2c',
  pick (view: ClusterView, fn: string, rng: Rng): Decision {
    const cands = warmCandidates(view, fn)
    if (cands.length === 0) return { kind: 'balance', policy: 'p2c', at: view.now, fn, choice: null, scores: {}, reason: 'no routable board' }
    const i = Math.floor(rng() * cands.length)
    let j = Math.floor(rng() * (cands.length - 1))
    if (j >= i) j++
    const a = cands[i]
    const b = cands.length > 1 ? cands[j] : undefined
    const scores: Record<string, number> = {}
    if (a !== undefined) scores[a.id] = outstanding(a)
    if (b !== undefined) scores[b.id] = outstanding(b)
    // Ties go to the first sample, which is itself uniform.
    const choice = b === undefined || a === undefined || outstanding(a) <= outstanding(b) ? a : b
    return { kind: 'balance', policy: 'p2c', at: view.now, fn, choice: choice?.id ?? null, scores, inputs: { candidates: cands.length }, reason: 'fewer outstanding of two random boards' }
  }
}
