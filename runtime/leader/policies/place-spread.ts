import type { ClusterView, Decision, PlacePolicy, Placement } from './types.js'
import type { Rng } from '../../shared/rng.js'
import { DEFAULT_MEMORY_MB, memorySlots, placeable, placeDecision, withEvictions } from './place-common.js'

/**
 * The Kubernetes default scheduler as Knative uses it: targets count runtimes (pods), blind to
 * speed. Existing runtimes stay where they are; a new one goes to the feasible board (memory
 * fits, fewer than `cores` runtimes of the function) with the best NodeResourcesFit
 * LeastAllocated score (free share of the runtime memory budget, 0–100) plus the default
 * topology-spread score (fewer runtimes of the same function, 0–100); ties at random, as
 * kube-scheduler breaks them. Scale-down removes runtimes from the boards holding most of the
 * function first (ReplicaSet downscale ranking).
 */
export const placeSpread: PlacePolicy = createPlaceSpread(true)

/**
 * `capAtCores`: at most `cores` runtimes of a function per board (the wisp agent's limit). Plain
 * kube-scheduler has no such limit (pods of one deployment fill a node up to its resources), so
 * the Knative sets place without it.
 */
export function createPlaceSpread (capAtCores: boolean): PlacePolicy {
  return {
  name: capAtCores ? 'spread' : 'spread-k8s',
  place (view: ClusterView, targets: Readonly<Record<string, number>>, rng: Rng): Placement {
    const boards = placeable(view)
    const used = boards.map((b) => Object.values(b.functions).reduce((s, f) => s + f.runtimes, 0))
    const warm: Record<string, Record<string, number>> = {}
    const decisions: Decision[] = []
    for (const fn of Object.keys(targets).sort()) {
      const want = Math.round(targets[fn] ?? 0)
      const mem = view.fns?.[fn]?.memoryMb ?? DEFAULT_MEMORY_MB
      const mine = boards.map((b) => b.functions[fn]?.runtimes ?? 0)
      let have = mine.reduce((s, n) => s + n, 0)
      while (have > want) {
        let i = 0
        for (let k = 1; k < mine.length; k++) if ((mine[k] ?? 0) > (mine[i] ?? 0)) i = k
        mine[i] = (mine[i] ?? 0) - 1
        used[i] = (used[i] ?? 0) - 1
        have--
      }
      while (have < want) {
        const maxMine = Math.max(0, ...mine)
        let best: number[] = []
        let bestScore = -Infinity
        boards.forEach((b, i) => {
          const slots = memorySlots(b, mem)
          if ((capAtCores && (mine[i] ?? 0) >= b.profile.cores) || (used[i] ?? 0) >= slots) return
          const s = 100 * (1 - (used[i] ?? 0) / slots) + 100 * (1 - (mine[i] ?? 0) / (maxMine + 1))
          if (s > bestScore) { bestScore = s; best = [i] } else if (s === bestScore) best.push(i)
        })
        if (best.length === 0) break
        const i = best.length === 1 ? best[0] ?? 0 : best[Math.floor(rng() * best.length)] ?? 0
        mine[i] = (mine[i] ?? 0) + 1
        used[i] = (used[i] ?? 0) + 1
        have++
      }
      const scores: Record<string, number> = {}
      boards.forEach((b, i) => {
        const n = mine[i] ?? 0
        if (n > 0) { (warm[b.id] ??= {})[fn] = n; scores[b.id] = n }
      })
      decisions.push(placeDecision(capAtCores ? 'spread' : 'spread-k8s', view.now, fn, want, have, scores))
    }
    return { warm: withEvictions(view, warm), decisions }
  }
  }
}
