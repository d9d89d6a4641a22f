import type { BalancePolicy, ClusterView, Decision } from './types.js'
import type { Rng } from '../../shared/rng.js'

/** Least outstanding work (leader in-flight count), ties broken at random: the foundation's balancer. */
export const leastQueue: BalancePolicy = {
  name: 'least-queue',
  pick (view: ClusterView, fn: string, rng: Rng): Decision {
    const scores: Record<string, number> = {}
    let best: string[] = []
    let bestScore = Infinity
    for (const b of view.boards) {
      if (!b.routable) continue
      const score = Math.max(b.inflight, b.queueLen)
      scores[b.id] = score
      if (score < bestScore) { bestScore = score; best = [b.id] } else if (score === bestScore) best.push(b.id)
    }
    const choice = best.length === 0 ? null : best[Math.floor(rng() * best.length)] ?? null
    return { kind: 'balance', policy: 'least-queue', at: view.now, fn, choice, scores, reason: choice === null ? 'no routable board' : 'least outstanding invocations' }
  }
}
