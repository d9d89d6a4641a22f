import type { ErrorCode } from '../shared/errors.js'

/**
 * The HTTP status of each wisp error code, and the Retry-After (seconds) sent with it.
 * The rule: the client's fault is 4xx, the cluster's is 5xx, and a wait that may help says so.
 * - WISP_BAD_PAYLOAD 400, WISP_PAYLOAD_TOO_LARGE 413 (RFC 9110 §15.5.14), WISP_UNKNOWN_FUNCTION 404.
 * - WISP_UNAUTHORIZED 403: the account is known but may not invoke (a bad or missing password is 401).
 * - WISP_RATE_LIMITED 429 (RFC 6585 §4): this client sent too much; the others are served.
 * - WISP_OVERLOADED and WISP_NO_BOARD 503 (RFC 9110 §15.6.4): the cluster, not the client, is short
 *   of room; both with Retry-After.
 * - WISP_TIMEOUT 504: the gateway waited for a board past the invocation's deadline.
 * - WISP_FUNCTION_ERROR, WISP_BAD_CODE, WISP_MEMORY_LIMIT 500: the deployed function failed; it is
 *   part of this service, not an upstream that answered badly (OpenFaaS also answers 500 here).
 * - WISP_FORBIDDEN, WISP_CAP_LIMIT 500: a handler's capability call was refused (the function's fault).
 * - A result too large (WISP_PAYLOAD_TOO_LARGE after the function ran) is the function's fault: 500.
 */
const STATUS: Readonly<Record<ErrorCode, number>> = {
  WISP_BAD_PAYLOAD: 400,
  WISP_PAYLOAD_TOO_LARGE: 413,
  WISP_UNKNOWN_FUNCTION: 404,
  WISP_UNAUTHORIZED: 403,
  WISP_RATE_LIMITED: 429,
  WISP_OVERLOADED: 503,
  WISP_NO_BOARD: 503,
  WISP_TIMEOUT: 504,
  WISP_FUNCTION_ERROR: 500,
  WISP_BAD_CODE: 500,
  WISP_MEMORY_LIMIT: 500,
  WISP_FORBIDDEN: 500,
  WISP_CAP_LIMIT: 500,
  WISP_BAD_CONFIG: 500,
  WISP_SENSOR: 500,
  WISP_NO_GATEWAY: 503, // a CLI error; never an invoke's
  WISP_OVER_BUDGET: 422
}

const RETRY_AFTER_S: Partial<Record<ErrorCode, number>> = { WISP_RATE_LIMITED: 1, WISP_OVERLOADED: 1, WISP_NO_BOARD: 5 }

/** `ran`: the function ran on a board (the reply has a receipt), so a size error is about its result. */
export const httpStatusOf = (code: ErrorCode, ran: boolean): { status: number, retryAfterS?: number } => {
  const status = code === 'WISP_PAYLOAD_TOO_LARGE' && ran ? 500 : STATUS[code]
  const retryAfterS = RETRY_AFTER_S[code]
  return retryAfterS === undefined ? { status } : { status, retryAfterS }
}

/** For the docs and the test: every code with its status. */
export const STATUS_TABLE: Readonly<Record<ErrorCode, number>> = STATUS
