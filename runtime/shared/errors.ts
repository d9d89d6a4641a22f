/**
 * The stable error catalogue of wisp. Every code here is documented in the README
 * (test/shared/errors-doc.test.ts keeps the two in step) and has a test of its own.
 */
export const ERROR_CODES = {
  WISP_UNKNOWN_FUNCTION: 'no function of that name is deployed',
  WISP_BAD_PAYLOAD: 'the message is not valid JSON or does not match its schema',
  WISP_PAYLOAD_TOO_LARGE: 'the event or the result is larger than the configured limit',
  WISP_BAD_CODE: 'the function code does not compile or exports no handler',
  WISP_FUNCTION_ERROR: 'the handler threw, rejected or returned a non-JSON value',
  WISP_TIMEOUT: 'the invocation ran past its timeout_ms (wall or CPU time)',
  WISP_MEMORY_LIMIT: 'the runtime ran past its memory_mb and was disposed',
  WISP_OVERLOADED: "the boards' queues for the function or the leader's in-flight table are full, or the queue ahead would outlast the invocation's deadline",
  WISP_RATE_LIMITED: 'the client sent invocations faster than its rate limit allows',
  WISP_NO_BOARD: 'no live board could take the invocation before its deadline',
  WISP_UNAUTHORIZED: 'the client may not use that reply address',
  WISP_FORBIDDEN: "a handler's capability call is outside what its manifest declares (e.g. a topic not in --publishes)",
  WISP_CAP_LIMIT: 'a handler made more capability calls than one invocation may, or chained invokes too deep',
  WISP_BAD_CONFIG: 'a configuration file, profile or option is invalid',
  WISP_SENSOR: 'the power sensor could not be read',
  WISP_NO_GATEWAY: 'no wisp gateway answered the command within its --ack-timeout',
  WISP_OVER_BUDGET: "no board's learned energy for the function fits the invocation's energy budget"
} as const

export type ErrorCode = keyof typeof ERROR_CODES

export const isErrorCode = (s: unknown): s is ErrorCode =>
  typeof s === 'string' && Object.hasOwn(ERROR_CODES, s)

/** An error as a value: a stable code plus a human message. */
export class WispError extends Error {
  readonly code: ErrorCode
  constructor (code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'WispError'
    this.code = code
  }

  toJSON (): { code: ErrorCode, message: string } {
    return { code: this.code, message: this.message }
  }
}

/**
 * A WispError without a stack trace, for the refusals the leader answers by the thousand a second
 * under overload (WISP_OVERLOADED, WISP_RATE_LIMITED): only their code and message are sent, and
 * capturing a stack cost more than the rest of the refusal.
 */
export const refusal = (code: ErrorCode, message: string): WispError => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try { return new WispError(code, message) } finally { Error.stackTraceLimit = limit }
}

export const asWispError = (err: unknown, fallback: ErrorCode = 'WISP_FUNCTION_ERROR'): WispError => {
  if (err instanceof WispError) return err
  const message = err instanceof Error ? err.message : String(err)
  return new WispError(fallback, message, { cause: err })
}
