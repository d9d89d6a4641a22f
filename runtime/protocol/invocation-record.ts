import type { ErrorCode } from '../shared/errors.js'
import type { Receipt } from './messages.js'

/** One finished invocation as the status pages show it. */
export interface InvocationRecord {
  readonly request_id: string
  readonly fn: string
  /** Epoch milliseconds when the invocation finished. */
  readonly at_ms: number
  readonly ok: boolean
  /** Set when ok is false. */
  readonly error?: { readonly code: ErrorCode, readonly message: string }
  readonly receipt?: Receipt
  /** Lines the handler wrote with context.log, newest last (keep it short: the page shows them all). */
  readonly logs: readonly string[]
}
