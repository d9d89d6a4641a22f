import type { BoardHooks } from '../../runtime/sim/sim-board.js'

/** A SimBoard's hooks on a hand-driven clock, for tests that step one board without the simulator. */
export interface ManualSimBoard {
  readonly hooks: BoardHooks
  /** The time the hooks report (ms); the test moves it. */
  now: number
  /** The wake-up the board last asked for (`board.tick(gen)` at `at`), or null. */
  peekWake: () => { at: number, gen: number } | null
  /** The same, and forgets it (the test is about to act on it). */
  takeWake: () => { at: number, gen: number } | null
}

/**
 * Hooks for one board: a finished run is handed back to the board (`finish`), no cold start, one
 * invocation per runtime, 64 MB, functions named `f<i>`; `over` replaces any of them.
 */
export const manualSimBoard = (over: Partial<BoardHooks> = {}): ManualSimBoard => {
  let wake: { at: number, gen: number } | null = null
  const m: ManualSimBoard = {
    now: 0,
    hooks: {
      now: () => m.now,
      wakeAt: (_b, at, gen) => { wake = { at, gen } },
      finished: (b, inv, ms) => { b.finish(inv, ms) },
      coldMs: () => 0,
      slots: () => 1,
      memoryMb: () => 64,
      fnName: (i) => `f${i}`,
      ...over
    },
    peekWake: () => wake,
    takeWake: () => { const w = wake; wake = null; return w }
  }
  return m
}
