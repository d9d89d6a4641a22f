import { SECRET_LIMITS } from '../protocol/secrets.js'
import { WispError } from '../shared/errors.js'

/**
 * A secret's value from a stream (stdin), never from the command line, where it would show in
 * `ps` and the shell's history. One trailing newline (`echo "$KEY" | wisp secret set …`) is not
 * part of it. Empty, not UTF-8, or over SECRET_LIMITS.valueBytes is WISP_BAD_CONFIG.
 */
export const readSecretValue = async (input: AsyncIterable<Buffer | string>): Promise<string> => {
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of input) {
    const b = typeof c === 'string' ? Buffer.from(c, 'utf8') : c
    chunks.push(b)
    size += b.length
    if (size > SECRET_LIMITS.valueBytes + 2) break // "\r\n" aside, already too large
  }
  let bytes = Buffer.concat(chunks)
  if (bytes.at(-1) === 0x0a) bytes = bytes.subarray(0, bytes.at(-2) === 0x0d ? -2 : -1)
  if (bytes.length === 0) throw new WispError('WISP_BAD_CONFIG', 'no secret value on stdin (pipe it in: `printf %s "$VALUE" | wisp secret set <fn> <NAME>`)')
  if (bytes.length > SECRET_LIMITS.valueBytes) throw new WispError('WISP_BAD_CONFIG', `a secret value is at most ${SECRET_LIMITS.valueBytes} bytes; stdin had more`)
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch { throw new WispError('WISP_BAD_CONFIG', 'a secret value must be UTF-8 text') }
}
