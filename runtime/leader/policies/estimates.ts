/**
 * The service-time estimates both views of the cluster keep (the live leader from receipts'
 * `run_ms`, the simulator from its completions), so the policies see the same numbers either way.
 */

/** Weight of a new run (its `run_ms` × the board's profile speed) in a function's cluster-wide mean at reference speed. */
export const FN_DEMAND_ALPHA = 0.2
/** Weight of a new run in a function's mean service time on one board. */
export const FN_SERVICE_ALPHA = 0.2
/** Weight of a new run in a board's mean service time over all functions. */
export const BOARD_SERVICE_ALPHA = 0.05

/** Exponentially weighted mean; `prev` 0 or absent = no estimate yet (the sample is taken as is). */
export const ewma = (prev: number | undefined, sample: number, alpha: number): number =>
  prev === undefined || prev === 0 ? sample : (1 - alpha) * prev + alpha * sample
