import type { BalancePolicy, ClusterView, Decision } from './types.js'
import type { Rng } from '../../shared/rng.js'
import { warmCandidates } from './candidates.js'

/**
 * Round-robin over the function's warm boards (Knative's activator and the Kubernetes service
 * proxy spread a revision's requests this way). Its only memory is one counter per function,
 * kept in the returned object and exposed as `state` so a leader may persist or reset it.
 */
export interface RoundRobinPolicy extends BalancePolicy {
  readonly state: Map<string, number>
}

export const createRoundRobin = (state: Map<string, number> = new Map()): RoundRobinPolicy => ({
  name: 'round-robin',
  state,
  pick (view: ClusterView, fn: string, _rng: Rng): Decision {
    const cands = warmCandidates(view, fn)
    if (cands.length === 0) return { kind: 'balance', policy: 'round-robin', at: view.now, fn, choice: null, scores: {}, reason: 'no routable board' }
    // Boards are visited in id order so that the rotation does not depend on gossip order.
    cands.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    const n = state.get(fn) ?? 0
    state.set(fn, (n + 1) % 1_000_000_007)
    const chosen = cands[n % cands.length]
    const scores: Record<string, number> = {}
    cands.forEach((b, i) => { scores[b.id] = (i - (n % cands.length) + cands.length) % cands.length })
    return { kind: 'balance', policy: 'round-robin', at: view.now, fn, choice: chosen?.id ?? null, scores, inputs: { turn: n, candidates: cands.length }, reason: 'next board in turn (score = turns away)' }
  }
})
