/**
 * The short lane of a board's run queue: when every run slot is held (typically by long runs,
 * which a short waiter would otherwise wait behind for a whole long run time), a function whose
 * harmonic-mean run time on this board is at most SHORT_MS, or that has not run here yet, may
 * start in one of SHORT_LANE extra places. The board is oversubscribed by at most SHORT_LANE runs
 * of ~SHORT_MS each, so long runs lose little. The agent and the simulated boards share it.
 */
export const SHORT_LANE = 1
export const SHORT_MS = 50

/**
 * Whether a function may use the lane. `invMs`: its moving average of 1 / run time here, undefined
 * (or 0) if it has not run here yet; `running`: its runs running here now. A function not yet
 * measured is taken on trust for one run at a time: a burst of a function nobody knows (a hog's
 * first burst on a board) must not put one of its runs in the lane behind its others, where
 * it would hold the lane for their whole length (co-executing runs share one isolate's thread).
 */
export const isShortRun = (invMs: number | undefined, shortMs = SHORT_MS, running = 0): boolean =>
  invMs === undefined || invMs === 0 ? running === 0 : !isMeasuredLong(invMs, shortMs)

/**
 * Whether a function is measured as long on this board: its harmonic-mean run time here is above
 * `shortMs`. Not yet measured is not long. The one definition behind the short lane (a long
 * function never gets it) and the board's low-priority isolate host (only long functions run there).
 */
export const isMeasuredLong = (invMs: number | undefined, shortMs = SHORT_MS): boolean =>
  invMs !== undefined && invMs > 0 && 1 / invMs > shortMs
