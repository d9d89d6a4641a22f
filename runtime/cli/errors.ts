import { WispError } from '../shared/errors.js'

/** Prints an error as `wisp: WISP_CODE: message` and sets the exit code (2 = usage or config). */
export const fail = (err: unknown): never => {
  if (err instanceof WispError) {
    process.stderr.write(`wisp: ${err.code}: ${err.message}\n`)
    process.exit(err.code === 'WISP_BAD_CONFIG' ? 2 : 1)
  }
  // A stack trace helps whoever debugs wisp, not whoever runs it: only with WISP_LOG=debug.
  const detail = process.env.WISP_LOG === 'debug' ? (err as Error)?.stack : (err as Error)?.message
  process.stderr.write(`wisp: ${detail ?? String(err)}\n`)
  process.exit(1)
}

export const intOption = (flag: string) => (value: string): number => {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new WispError('WISP_BAD_CONFIG', `${flag} must be a non-negative integer, got "${value}"`)
  return n
}
