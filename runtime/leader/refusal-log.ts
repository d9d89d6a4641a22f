/** Codes the leader answers at admission, before any board runs the invocation. */
const ADMISSION_CODES: ReadonlySet<string> = new Set(['WISP_OVERLOADED', 'WISP_RATE_LIMITED'])

/** How often a function's log gets one line for the invokes refused at admission with one code. */
export const REFUSAL_LOG_MS = 1000
const MAX_ENTRIES = 10_000

/**
 * Whether an invoke refused at admission goes to the function's log. Under overload the leader
 * refuses thousands a second: a line each would push every handler line out of the 500-line
 * ring and publish as many log messages as replies. So one line per function and code per
 * REFUSAL_LOG_MS, saying how many were left out since the last one. Bounded: one entry per
 * function and code, forgotten all at once past MAX_ENTRIES (functions removed over time).
 */
export class RefusalLog {
  private readonly last = new Map<string, { at: number, skipped: number }>()

  /** Whether a failure is a refusal at admission (the leader's, `board` null) rather than a failed run. */
  static isRefusal (board: string | null, code: string): boolean { return board === null && ADMISSION_CODES.has(code) }

  /** null: leave this refusal out of the log; else the number left out since the last one logged. */
  take (fn: string, code: string, now: number): number | null {
    const key = `${fn}\u0000${code}`
    const e = this.last.get(key)
    if (e !== undefined && now - e.at < REFUSAL_LOG_MS) { e.skipped++; return null }
    const skipped = e?.skipped ?? 0
    if (e === undefined && this.last.size >= MAX_ENTRIES) this.last.clear()
    this.last.set(key, { at: now, skipped: 0 })
    return skipped
  }
}
