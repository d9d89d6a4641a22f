import type { BoardView, ClusterView, Decision, PlacePolicy, Placement } from './types.js'
import type { Rng } from '../../shared/rng.js'
import { DEFAULT_MEMORY_MB, memorySlots, placeable, placeDecision, withEvictions } from './place-common.js'

export interface FairPlaceOptions {
  /**
   * A board already holding a runtime of the function scores (1 + stickiness) × its score for
   * that runtime, so a small change of targets does not move runtimes between boards (each move
   * is a start elsewhere and, in a full memory budget, an eviction of another function).
   */
  readonly stickiness: number
}

export const FAIR_PLACE_DEFAULTS: FairPlaceOptions = { stickiness: 0.5 }

/**
 * Mu's fair placement on heterogeneous boards. Targets are in reference-speed runtimes; a
 * runtime on a board of speed s provides s of them. Functions take turns (largest target
 * first within a turn), one runtime per turn, until each target is met, so no function is
 * left with only slow boards while another holds all fast ones. Each runtime goes to the board
 * with the highest speed × (1 − committed work / capacity), capacity = speed × cores: fast
 * boards first, but never piled past their share; a board that already holds the runtime is
 * preferred (stickiness). Measured by Jain's index of per-function slowdown in the simulator.
 */
/** Runtimes each function holds on each placeable board now (through the holders index when the view has one). */
const heldRuntimes = (view: ClusterView, boards: readonly BoardView[], fns: readonly string[]): Int32Array[] => {
  const holders = view.holders
  if (holders === undefined) return fns.map((fn) => Int32Array.from(boards, (b) => b.functions[fn]?.runtimes ?? 0))
  const at = new Map<BoardView, number>()
  boards.forEach((b, i) => at.set(b, i))
  return fns.map((fn) => {
    const row = new Int32Array(boards.length)
    for (const i of holders[fn] ?? []) {
      const b = view.boards[i]
      const j = b === undefined ? undefined : at.get(b)
      if (b !== undefined && j !== undefined) row[j] = b.functions[fn]?.runtimes ?? 0
    }
    return row
  })
}

export const createPlaceFair = (opts: Partial<FairPlaceOptions> = {}): PlacePolicy => {
  const o = { ...FAIR_PLACE_DEFAULTS, ...opts }
  return {
    name: 'fair',
    place (view: ClusterView, targets: Readonly<Record<string, number>>, _rng: Rng): Placement {
      const boards = placeable(view)
      const n = boards.length
      const speed = new Float64Array(n)
      const cores = new Int32Array(n)
      const cap = new Float64Array(n)
      for (let i = 0; i < n; i++) { const p = boards[i]!.profile; speed[i] = p.speed; cores[i] = p.cores; cap[i] = p.speed * p.cores }
      const work = new Float64Array(n)
      const count = new Int32Array(n)
      // Memory slots per board for one function size (most functions share one size).
      const slotsCache = new Map<number, Int32Array>()
      const slotsFor = (mem: number): Int32Array => {
        let s = slotsCache.get(mem)
        if (s === undefined) { s = Int32Array.from(boards, (b) => memorySlots(b, mem)); slotsCache.set(mem, s) }
        return s
      }
      const fns = Object.keys(targets).filter((f) => (targets[f] ?? 0) > 0)
        .sort((a, b) => (targets[b] ?? 0) - (targets[a] ?? 0) || (a < b ? -1 : 1))
      const provided = new Float64Array(fns.length)
      const per = fns.map(() => new Int32Array(n))
      const had = heldRuntimes(view, boards, fns)
      const slots = fns.map((fn) => slotsFor(view.fns?.[fn]?.memoryMb ?? DEFAULT_MEMORY_MB))
      let open = fns.map((_, k) => k)
      while (open.length > 0) {
        const still: number[] = []
        for (const k of open) {
          const target = targets[fns[k]!] ?? 0
          const got = provided[k]!
          const mine = per[k]!
          const old = had[k]!
          const mem = slots[k]!
          let best = -1
          let bestScore = -Infinity
          for (let i = 0; i < n; i++) {
            if (mine[i]! >= cores[i]! || count[i]! >= mem[i]!) continue
            let s = speed[i]! * (1 - work[i]! / cap[i]!)
            if (mine[i]! < old[i]!) s *= 1 + o.stickiness
            if (s > bestScore) { bestScore = s; best = i }
          }
          if (best < 0) continue
          const sp = speed[best]!
          work[best] = work[best]! + Math.min(sp, target - got)
          count[best] = count[best]! + 1
          mine[best] = mine[best]! + 1
          provided[k] = got + sp
          if (got + sp < target - 1e-9) still.push(k)
        }
        open = still
      }
      const warm: Record<string, Record<string, number>> = {}
      const decisions: Decision[] = []
      fns.forEach((fn, k) => {
        const mine = per[k]!
        const scores: Record<string, number> = {}
        for (let i = 0; i < n; i++) {
          const c = mine[i]!
          if (c > 0) { const id = boards[i]!.id; (warm[id] ??= {})[fn] = c; scores[id] = c }
        }
        decisions.push(placeDecision('fair', view.now, fn, targets[fn] ?? 0, provided[k]!, scores))
      })
      return { warm: withEvictions(view, warm), decisions }
    }
  }
}

export const placeFair: PlacePolicy = createPlaceFair()
