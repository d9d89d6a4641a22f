import { WispError } from '../shared/errors.js'

/**
 * How deeply an event (or a result) may nest. V8's JSON.parse is iterative, but
 * JSON.stringify, zod and every recursive walk are not: a 100,000-deep array parses fine and
 * then overflows the stack wherever it is next serialised. 64 is far beyond any real event.
 */
export const MAX_JSON_DEPTH = 64
/** The wrappers wisp puts around an event or a result (`run.event`, `done.reply.result`). */
export const ENVELOPE_DEPTH = 4

const OPEN_ARRAY = 0x5b
const OPEN_OBJECT = 0x7b
const CLOSE_ARRAY = 0x5d
const CLOSE_OBJECT = 0x7d
const QUOTE = 0x22
const BACKSLASH = 0x5c

/**
 * The deepest nesting of a JSON text, found in one pass over its bytes without recursion;
 * stops counting once past `limit` (returns limit + 1). Brackets inside strings do not count.
 * Malformed text is left for JSON.parse to reject.
 */
export const jsonDepth = (bytes: Uint8Array, limit = Number.MAX_SAFE_INTEGER): number => {
  let depth = 0
  let max = 0
  let inString = false
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]
    if (inString) {
      if (c === BACKSLASH) i++
      else if (c === QUOTE) inString = false
      continue
    }
    if (c === QUOTE) inString = true
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      depth++
      if (depth > max) { max = depth; if (max > limit) return max }
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--
  }
  return max
}

export interface JsonLimits {
  readonly maxBytes: number
  readonly maxDepth: number
}

const text = (buf: Uint8Array): string => Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8')

/**
 * Parses UTF-8 JSON within limits: too many bytes → WISP_PAYLOAD_TOO_LARGE; too deep or not
 * JSON → WISP_BAD_PAYLOAD. Size is checked before anything is read, depth before parsing.
 */
export const parseJsonLimited = (payload: Uint8Array, limits: JsonLimits, what: string): unknown => {
  if (payload.byteLength > limits.maxBytes) {
    throw new WispError('WISP_PAYLOAD_TOO_LARGE', `${what} is ${payload.byteLength} bytes; the limit is ${limits.maxBytes}`)
  }
  if (jsonDepth(payload, limits.maxDepth) > limits.maxDepth) {
    throw new WispError('WISP_BAD_PAYLOAD', `${what} nests deeper than ${limits.maxDepth} levels`)
  }
  try { return JSON.parse(text(payload)) } catch (err) {
    throw new WispError('WISP_BAD_PAYLOAD', `${what} is not valid JSON (${(err as Error).message})`)
  }
}
