import type { ClusterView, Decision, PlacePolicy, Placement } from './types.js'
import type { Rng } from '../../shared/rng.js'
import { DEFAULT_MEMORY_MB, memorySlots, placeable, placeDecision, withEvictions } from './place-common.js'

/**
 * Mu's fair placement on heterogeneous boards. Targets are in reference-speed runtimes; a
 * runtime on a board of speed s provides s of them. Functions take turns (largest target
 * first within a turn), one runtime per turn, until each target is met, so no function is
 * left with only slow boards while another holds all fast ones. Each runtime goes to the board
 * with the highest speed × (1 − committed work / capacity), capacity = speed × cores: fast
 * boards first, but never piled past their share. Measured by Jain's index of per-function
 * slowdown in the simulator.
 */
export const placeFair: PlacePolicy = {
  name: 'fair',
  place (view: ClusterView, targets: Readonly<Record<string, number>>, _rng: Rng): Placement {
    const boards = placeable(view)
    const work = new Float64Array(boards.length)
    const count = new Int32Array(boards.length)
    const warm: Record<string, Record<string, number>> = {}
    const fns = Object.keys(targets).filter((f) => (targets[f] ?? 0) > 0)
      .sort((a, b) => (targets[b] ?? 0) - (targets[a] ?? 0) || (a < b ? -1 : 1))
    const provided = new Map<string, number>()
    const per = new Map<string, Int32Array>()
    for (const fn of fns) { provided.set(fn, 0); per.set(fn, new Int32Array(boards.length)) }
    let open = fns.slice()
    while (open.length > 0) {
      const still: string[] = []
      for (const fn of open) {
        const target = targets[fn] ?? 0
        const got = provided.get(fn) ?? 0
        const mine = per.get(fn)
        if (mine === undefined) continue
        const mem = view.fns?.[fn]?.memoryMb ?? DEFAULT_MEMORY_MB
        let best = -1
        let bestScore = -Infinity
        for (let i = 0; i < boards.length; i++) {
          const b = boards[i]
          if (b === undefined) continue
          if ((mine[i] ?? 0) >= b.profile.cores || (count[i] ?? 0) >= memorySlots(b, mem)) continue
          const cap = b.profile.speed * b.profile.cores
          const s = b.profile.speed * (1 - (work[i] ?? 0) / cap)
          if (s > bestScore) { bestScore = s; best = i }
        }
        const b = boards[best]
        if (b === undefined) continue
        const give = Math.min(b.profile.speed, target - got)
        work[best] = (work[best] ?? 0) + give
        count[best] = (count[best] ?? 0) + 1
        mine[best] = (mine[best] ?? 0) + 1
        provided.set(fn, got + b.profile.speed)
        if (got + b.profile.speed < target - 1e-9) still.push(fn)
      }
      open = still
    }
    const decisions: Decision[] = []
    for (const fn of fns) {
      const mine = per.get(fn)
      const scores: Record<string, number> = {}
      boards.forEach((b, i) => {
        const n = mine?.[i] ?? 0
        if (n > 0) { (warm[b.id] ??= {})[fn] = n; scores[b.id] = n }
      })
      decisions.push(placeDecision('fair', view.now, fn, targets[fn] ?? 0, provided.get(fn) ?? 0, scores))
    }
    return { warm: withEvictions(view, warm), decisions }
  }
}
