import { randomBytes } from 'node:crypto'

/**
 * A board's boot id: its boot time (ms since the epoch, base 36, fixed width) and 64 random
 * bits. Its time orders boots; the random part tells apart two boots in one millisecond.
 */
export const INCARNATION_RE = /^[0-9a-z]{9}-[0-9a-f]{6,16}$/

/**
 * How far ahead of the gateway's clock a boot time may be. Boards without an RTC may lag;
 * none should lead by more than this, so an incarnation from the far future (which would
 * outrank every real boot) is ignored.
 */
export const INCARNATION_MAX_AHEAD_MS = 5 * 60_000

export const newIncarnation = (nowMs = Date.now()): string =>
  `${Math.max(0, Math.floor(nowMs)).toString(36).padStart(9, '0')}-${randomBytes(8).toString('hex')}`

/** The boot time an incarnation carries (ms since the epoch). */
export const incarnationTime = (incarnation: string): number => parseInt(incarnation.slice(0, 9), 36)

/** Orders two incarnations: boot time first, then the random part. */
export const compareIncarnations = (a: string, b: string): number => {
  const d = incarnationTime(a) - incarnationTime(b)
  if (d !== 0) return d
  return a < b ? -1 : a > b ? 1 : 0
}
