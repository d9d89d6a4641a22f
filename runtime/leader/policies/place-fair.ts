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
      // Boards in a max-heap by score speed × (1 − work / capacity), ties to the lower index (the
      // order of a scan of the boards), so each runtime costs O(log n) plus the function's own
      // holders (sticky) instead of a scan of every board. A board full for the smallest function
      // leaves the heap.
      const minMem = Math.min(DEFAULT_MEMORY_MB, ...fns.map((fn) => view.fns?.[fn]?.memoryMb ?? DEFAULT_MEMORY_MB))
      const minSlots = slotsFor(minMem)
      const score = new Float64Array(n)
      for (let i = 0; i < n; i++) score[i] = speed[i]!
      const heap: number[] = []
      const pos = new Int32Array(n).fill(-1)
      const above = (a: number, b: number): boolean => score[a]! > score[b]! || (score[a] === score[b] && a < b)
      const put = (k: number, i: number): void => { heap[k] = i; pos[i] = k }
      const siftUp = (k: number): void => {
        const i = heap[k]!
        while (k > 0) { const p = (k - 1) >> 1; const q = heap[p]!; if (!above(i, q)) break; put(k, q); k = p }
        put(k, i)
      }
      const siftDown = (k: number): void => {
        const i = heap[k]!
        const len = heap.length
        for (;;) {
          const l = 2 * k + 1
          if (l >= len) break
          const r = l + 1
          const c = r < len && above(heap[r]!, heap[l]!) ? r : l
          if (!above(heap[c]!, i)) break
          put(k, heap[c]!)
          k = c
        }
        put(k, i)
      }
      const remove = (i: number): void => {
        const k = pos[i]!
        pos[i] = -1
        const last = heap.pop()!
        if (k < heap.length) { put(k, last); siftUp(k); siftDown(pos[last]!) }
      }
      for (let i = 0; i < n; i++) if (count[i]! < minSlots[i]!) { heap.push(i); siftUp(heap.length - 1) }
      // Holders (sticky candidates) of each function among the placeable boards.
      const sticky = had.map((row) => { const out: number[] = []; for (let i = 0; i < n; i++) if (row[i]! > 0) out.push(i); return out })
      // The function being placed and the best board found so far (hoisted out of the loop: no closure per runtime).
      let mine = per[0] ?? new Int32Array(0)
      let mem = slots[0] ?? new Int32Array(0)
      let best = -1
      let bestScore = -Infinity
      const feasible = (i: number): boolean => mine[i]! < cores[i]! && count[i]! < mem[i]!
      const better = (i: number, s: number): boolean => s > bestScore || (s === bestScore && i < best)
      // Best feasible board of the heap: best-first descent, pruned below the best found.
      const visit = (h: number): void => {
        if (h >= heap.length) return
        const i = heap[h]!
        if (!better(i, score[i]!)) return
        if (feasible(i)) { best = i; bestScore = score[i]!; return }
        visit(2 * h + 1)
        visit(2 * h + 2)
      }
      let open = fns.map((_, k) => k)
      while (open.length > 0) {
        const still: number[] = []
        for (const k of open) {
          const target = targets[fns[k]!] ?? 0
          const got = provided[k]!
          mine = per[k]!
          mem = slots[k]!
          const old = had[k]!
          best = -1
          bestScore = -Infinity
          visit(0)
          for (const i of sticky[k]!) {
            if (!feasible(i)) continue
            const s = mine[i]! < old[i]! ? score[i]! * (1 + o.stickiness) : score[i]!
            if (better(i, s)) { best = i; bestScore = s }
          }
          if (best < 0) continue
          const sp = speed[best]!
          work[best] = work[best]! + Math.min(sp, target - got)
          count[best] = count[best]! + 1
          mine[best] = mine[best]! + 1
          score[best] = speed[best]! * (1 - work[best]! / cap[best]!)
          if (pos[best]! >= 0) {
            if (count[best]! >= minSlots[best]!) remove(best)
            else siftDown(pos[best]!)
          }
          provided[k] = got + sp
          if (got + sp < target - 1e-9) still.push(k)
        }
        open = still
      }
      const warm: Record<string, Record<string, number>> = {}
      fns.forEach((fn, k) => {
        const mine = per[k]!
        for (let i = 0; i < n; i++) {
          const c = mine[i]!
          if (c > 0) (warm[boards[i]!.id] ??= {})[fn] = c
        }
      })
      const now = view.now
      // Decisions are built when read (the simulator reads them only when it records them).
      let decisions: Decision[] | undefined
      return {
        warm: withEvictions(view, warm),
        get decisions (): Decision[] {
          decisions ??= fns.map((fn, k) => {
            const mine = per[k]!
            const scores: Record<string, number> = {}
            for (let i = 0; i < n; i++) if (mine[i]! > 0) scores[boards[i]!.id] = mine[i]!
            return placeDecision('fair', now, fn, targets[fn] ?? 0, provided[k]!, scores)
          })
          return decisions
        }
      }
    }
  }
}

export const placeFair: PlacePolicy = createPlaceFair()
