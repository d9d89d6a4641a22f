import { WispError } from '../shared/errors.js'

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 }

/** `30s`, `5m`, `1h`, `1d`, `1500ms` → milliseconds; anything else is WISP_BAD_CONFIG naming the flag. */
export const parseDuration = (flag: string, value: string): number => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim())
  if (m === null) throw new WispError('WISP_BAD_CONFIG', `${flag} must be a number and a unit (ms, s, m, h, d), e.g. 30s or 5m; got "${value}"`)
  return Math.round(Number(m[1]) * (UNIT_MS[m[2] as string] as number))
}
