import type { BoardView, ClusterView, Decision } from './types.js'

export const DEFAULT_MEMORY_MB = 64

/** Boards a placement may use: powered on and taking work. */
export const placeable = (view: ClusterView): BoardView[] => view.boards.filter((b) => b.routable && b.power === 'on')

/** Runtimes a board can hold for a function of this size (memory budget), and at most its cores per function. */
export const memorySlots = (b: BoardView, memoryMb: number): number => Math.floor(b.profile.runtime_budget_mb / Math.max(1, memoryMb))

/** Per-board warm targets with explicit zeros where a board holds runtimes the plan no longer wants. */
export const withEvictions = (view: ClusterView, warm: Record<string, Record<string, number>>): Record<string, Record<string, number>> => {
  const holders = view.holders
  if (holders !== undefined) {
    for (const fn of Object.keys(holders)) {
      for (const i of holders[fn] ?? []) {
        const b = view.boards[i]
        if (b !== undefined && b.power === 'on' && (b.functions[fn]?.runtimes ?? 0) > 0 && warm[b.id]?.[fn] === undefined) (warm[b.id] ??= {})[fn] = 0
      }
    }
    return warm
  }
  for (const b of view.boards) {
    if (b.power !== 'on') continue
    for (const fn of Object.keys(b.functions)) {
      if ((b.functions[fn]?.runtimes ?? 0) > 0 && warm[b.id]?.[fn] === undefined) (warm[b.id] ??= {})[fn] = 0
    }
  }
  return warm
}

export const placeDecision = (policy: string, at: number, fn: string, target: number, provided: number, perBoard: Record<string, number>): Decision => ({
  kind: 'place', policy, at, fn, choice: null, scores: perBoard, inputs: { target, provided },
  reason: provided + 1e-9 >= target ? 'target placed' : 'no room for the whole target'
})
