import { WispError, isErrorCode, type ErrorCode } from '../shared/errors.js'
import type { ExecOutcome } from './executor-port.js'

export const DEFAULT_OUTPUT_LIMITS: OutputLimits = Object.freeze({ maxResultBytes: 256 * 1024, maxLogLines: 50, maxLogLineChars: 1024 })

/** Longest error message a reply carries, in characters; longer ones are cut with a note. */
export const MAX_ERROR_MESSAGE_CHARS = 2048

export interface OutputLimits {
  /** Largest result in UTF-8 JSON bytes; larger is WISP_PAYLOAD_TOO_LARGE. */
  readonly maxResultBytes: number
  readonly maxLogLines: number
  readonly maxLogLineChars: number
}

/** The only codes a function's own reply (the isolate's envelope) may carry; any other is WISP_FUNCTION_ERROR. */
const FROM_FUNCTION: ReadonlySet<ErrorCode> = new Set(['WISP_FUNCTION_ERROR', 'WISP_PAYLOAD_TOO_LARGE', 'WISP_BAD_CODE'])
export const functionErrorCode = (code: unknown): ErrorCode =>
  isErrorCode(code) && FROM_FUNCTION.has(code) ? code : 'WISP_FUNCTION_ERROR'

const cut = (s: string, max: number): string => s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`

/** At most maxLogLines strings of at most maxLogLineChars, plus one line saying how many were dropped. */
export const capLogs = (logs: unknown, l: OutputLimits): string[] => {
  if (!Array.isArray(logs)) return []
  const out: string[] = []
  let dropped = 0
  for (const line of logs) {
    if (typeof line !== 'string') continue
    if (out.length < l.maxLogLines) out.push(cut(line, l.maxLogLineChars))
    else dropped++
  }
  if (dropped > 0) out.push(`[wisp] ${dropped} more log lines dropped`)
  return out
}

export const capMessage = (message: unknown): string =>
  typeof message === 'string' ? cut(message, MAX_ERROR_MESSAGE_CHARS) : 'unknown failure'

/**
 * What leaves a runtime, bounded whatever produced it: applied by the isolate host to what an
 * isolate returned, and again by the agent to what the host sent (neither trusts the side it
 * reads from). Results past maxResultBytes become WISP_PAYLOAD_TOO_LARGE.
 */
export const capOutcome = (o: ExecOutcome, l: OutputLimits): ExecOutcome => {
  const logs = capLogs(o.logs, l)
  if (!o.ok) {
    const error = o.error.message.length <= MAX_ERROR_MESSAGE_CHARS && isErrorCode(o.error.code)
      ? o.error
      : new WispError(isErrorCode(o.error.code) ? o.error.code : 'WISP_FUNCTION_ERROR', capMessage(o.error.message))
    return { ...o, error, logs }
  }
  let size: number
  try { size = Buffer.byteLength(JSON.stringify(o.result) ?? 'null') } catch {
    return { ...o, ok: false, error: new WispError('WISP_FUNCTION_ERROR', 'the result is not JSON'), logs }
  }
  if (size > l.maxResultBytes) {
    const { result: _r, ...rest } = o
    return { ...rest, ok: false, error: new WispError('WISP_PAYLOAD_TOO_LARGE', `result is ${size} bytes; the limit is ${l.maxResultBytes}`), logs }
  }
  return { ...o, logs }
}
