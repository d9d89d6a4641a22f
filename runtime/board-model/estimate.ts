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
