/**
 * Highest response ratio next (Brinch Hansen, 1971): when a core comes free, the waiting
 * invocation with the largest (waited + t) ÷ t starts. A short invocation overtakes a queue of
 * long ones at once, and a long one ages until it goes, so each function's slowdown (response ÷
 * run time) is evened out rather than a burst of one long function holding every other function
 * behind it, as a FIFO does. The agent and the simulator's boards both order their queues by it,
 * with t the function's harmonic-mean run time, 1 / E[1 / run time]: a run of a function whose
 * run times vary waits as long as any other, but its expected slowdown is 1 + waited · E[1 / run
 * time], larger than its mean run time suggests (its many short runs suffer most), so the ratio
 * is exactly the expected slowdown of starting it now.
 */
export const responseRatio = (waitedMs: number, expectedMs: number): number => {
  const e = Math.max(expectedMs, 0.001)
  return (Math.max(0, waitedMs) + e) / e
}

/** Classes of expected run time for the queued-work histogram: class k holds [2^k, 2^(k+1)) ms. */
export const WORK_CLASSES = 16
export const workClass = (ms: number): number => Math.min(WORK_CLASSES - 1, Math.max(0, Math.floor(Math.log2(Math.max(1, ms)))))
