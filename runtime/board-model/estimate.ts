/** Weight of the newest run time in a function's moving averages, unless a board says otherwise. */
export const DEFAULT_ALPHA = 0.2

/** The moving average of run times (ms): the first run sets it. */
export const learnMeanMs = (prev: number | undefined, ranMs: number, alpha = DEFAULT_ALPHA): number =>
  prev === undefined ? ranMs : alpha * ranMs + (1 - alpha) * prev

/**
 * The moving average of 1 / run time (per ms): its reciprocal is the harmonic-mean run time, the
 * one a function's queue is ranked by (see `RunQueue`).
 */
export const learnInvMs = (prev: number | undefined, ranMs: number, alpha = DEFAULT_ALPHA): number =>
  prev === undefined ? 1 / Math.max(ranMs, 0.01) : (1 - alpha) * prev + alpha / Math.max(ranMs, 0.01)

/**
 * The run time (ms) a finished run teaches its function's estimates. A warm run teaches the time
 * it held its core (`heldMs`). A cold run held it through the runtime's build too, a one-off of
 * this board and not the function's run time: it teaches only the time its handler ran
 * (`handlerMs`, the receipt's run_ms), or nothing if its handler never ran. Otherwise a light
 * function first measured by its cold start (hundreds of ms on a loaded board) is taken for a long
 * one: it loses the short lane and waits behind long runs until warm runs correct the estimate.
 * The simulator's boards learn the same (the run time without the cold start).
 */
export const learnedRunMs = (heldMs: number, cold: boolean, handlerMs: number): number | null =>
  !cold ? heldMs : handlerMs > 0 ? handlerMs : null
