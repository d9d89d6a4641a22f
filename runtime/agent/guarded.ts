import { isErrorCode } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'

const messageOf = (err: unknown): string => (err as Error)?.message ?? String(err)
/** What is logged of an error: its message, and its WISP_* code when it has one. */
const details = (err: unknown): Record<string, unknown> => {
  const code = (err as { code?: unknown } | null)?.code
  return isErrorCode(code) ? { code, error: messageOf(err) } : { error: messageOf(err) }
}

/**
 * Wraps a timer or event callback so that an exception (or a rejection, for an async one)
 * is logged instead of ending the process: a board's timers and listeners must outlive a bug
 * in any one of them.
 */
export const guarded = <A extends unknown[]>(log: Logger, what: string, fn: (...args: A) => unknown): (...args: A) => void =>
  (...args: A): void => {
    try {
      const r = fn(...args)
      if (r instanceof Promise) r.catch((err: unknown) => { try { log.error(`${what} failed`, details(err)) } catch { /* the logger itself failed */ } })
    } catch (err) {
      try { log.error(`${what} failed`, details(err)) } catch { /* the logger itself failed */ }
    }
  }
