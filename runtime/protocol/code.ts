import { createHash } from 'node:crypto'
import { MAX_CODE_BYTES } from './messages.js'
import { SHA256_RE } from './topics.js'

/**
 * Why a blob on `<prefix>/code/<sha>` cannot be that function code, or null when it can:
 * the size is checked first (at most MAX_CODE_BYTES, and the manifest's size when known), so
 * an oversized blob is never hashed or decoded.
 */
export const codeProblem = (sha: string, payload: Uint8Array, size?: number): string | null => {
  if (!SHA256_RE.test(sha)) return 'the topic does not end in a sha256'
  if (payload.byteLength === 0) return 'empty'
  if (payload.byteLength > MAX_CODE_BYTES) return `code is ${payload.byteLength} bytes; the limit is ${MAX_CODE_BYTES}`
  if (size !== undefined && payload.byteLength !== size) return `code is ${payload.byteLength} bytes; its manifest says ${size}`
  if (createHash('sha256').update(payload).digest('hex') !== sha) return 'its hash does not match its topic'
  return null
}
