/**
 * The short lane of a board's run queue: when every run slot is held (typically by long runs,
 * which a short waiter would otherwise wait behind for a whole long run time), a function whose
 * harmonic-mean run time on this board is at most SHORT_MS, or that has not run here yet, may
 * start in one of SHORT_LANE extra places. The board is oversubscribed by at most SHORT_LANE runs
 * of ~SHORT_MS each, so long runs lose little. The agent and the simulated boards share it.
 */
export const SHORT_LANE = 1
export const SHORT_MS = 50

/** `invMs`: the function's moving average of 1 / run time here, undefined (or 0) if it has not run here. */
export const isShortRun = (invMs: number | undefined, shortMs = SHORT_MS): boolean =>
  invMs === undefined || invMs === 0 || 1 / invMs <= shortMs
