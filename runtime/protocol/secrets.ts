import { z } from 'zod'
import { WispError } from '../shared/errors.js'

/**
 * Secrets of a function (`wisp secret set`, `context.env`): names and limits shared by the CLI,
 * the gateway and the boards. A value reaches a board only inside a `run` of its function.
 */
export const SECRET_NAME_RE = /^[A-Z_][A-Z0-9_]{0,63}$/
export const SECRET_LIMITS = Object.freeze({
  /** Largest value, in UTF-8 bytes. */
  valueBytes: 4096,
  /** Most secrets one function may have. */
  perFunction: 32
})
/** The most an `env` adds to a run message (JSON escaping can make a value 6 times longer). */
export const MAX_ENV_JSON_BYTES = SECRET_LIMITS.perFunction * (SECRET_LIMITS.valueBytes * 6 + 72)

/** Throws WISP_BAD_CONFIG unless `name` is a valid secret name. */
export const checkSecretName = (name: string): string => {
  if (!SECRET_NAME_RE.test(name)) throw new WispError('WISP_BAD_CONFIG', `secret name "${name.slice(0, 80)}" must match [A-Z_][A-Z0-9_]{0,63}`)
  return name
}

/** Throws WISP_BAD_CONFIG unless `value` fits (never quotes the value). */
export const checkSecretValue = (value: string): string => {
  const bytes = Buffer.byteLength(value, 'utf8')
  if (bytes > SECRET_LIMITS.valueBytes) throw new WispError('WISP_BAD_CONFIG', `a secret value is at most ${SECRET_LIMITS.valueBytes} bytes; this one has ${bytes}`)
  return value
}

/** The `env` of a run: at most SECRET_LIMITS.perFunction names, each value bounded. */
export const EnvSchema = z.record(z.string().regex(SECRET_NAME_RE), z.string().max(SECRET_LIMITS.valueBytes))
  .refine((e) => Object.keys(e).length <= SECRET_LIMITS.perFunction, `at most ${SECRET_LIMITS.perFunction} secrets`)
export type Env = Readonly<Record<string, string>>
