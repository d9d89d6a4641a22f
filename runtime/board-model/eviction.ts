/** A function's runtimes on a board, as eviction sees them. */
export interface RuntimeHolding {
  readonly runtimes: number
  /** Invocations running in them. */
  readonly running: number
  /** When one of its invocations last started (ms). */
  readonly lastUsed: number
}

/** Runtimes the running invocations occupy, `concurrency` per runtime (0 = unlimited: one). */
export const busyRuntimes = (running: number, concurrency: number): number =>
  concurrency === 0 ? (running > 0 ? 1 : 0) : Math.ceil(running / concurrency)

/**
 * Which function gives up an idle runtime to make room: the least recently used one holding a
 * runtime none of its invocations needs, never `except`; -1 when none can.
 */
export const lruIdleVictim = (fns: readonly RuntimeHolding[], concurrencyOf: (fn: number) => number, except: number): number => {
  let victim = -1
  let oldest = Infinity
  for (let i = 0; i < fns.length; i++) {
    const g = fns[i]!
    if (g.runtimes === 0 || i === except || g.lastUsed >= oldest) continue
    if (g.runtimes > busyRuntimes(g.running, concurrencyOf(i))) { oldest = g.lastUsed; victim = i }
  }
  return victim
}
