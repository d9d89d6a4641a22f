import { WORK_CLASSES, workClass } from '../shared/response-ratio.js'

export { WORK_CLASSES, workClass }

/** Adds `runs` queued runs of expected run time `estMs` to the histogram of queued work by class (negative to take them off). */
export const addQueuedWork = (byClass: number[] | Float64Array, estMs: number, runs: number): void => {
  const k = workClass(estMs)
  byClass[k] = (byClass[k] ?? 0) + runs * estMs
}
