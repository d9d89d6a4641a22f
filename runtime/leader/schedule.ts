import { CronExpressionParser } from 'cron-parser'
import type { Triggers } from '../protocol/triggers.js'

export type Schedule = Pick<Triggers, 'every_ms' | 'cron' | 'tz'>

/**
 * The first tick of a schedule strictly after `after` (ms since the epoch), or null when the
 * function has no schedule. `every_ms` ticks fall on multiples of the interval since the
 * epoch, so every gateway (and a restarted one) agrees on them; `cron` is read in `tz`.
 * Ticks before `after` are never returned: ticks missed while the gateway was down are skipped.
 */
export const nextTick = (s: Schedule, after: number): number | null => {
  if (s.every_ms !== undefined) return (Math.floor(after / s.every_ms) + 1) * s.every_ms
  if (s.cron === undefined) return null
  const it = CronExpressionParser.parse(s.cron, { currentDate: new Date(after), tz: s.tz })
  const at = it.next().getTime()
  // cron-parser counts from the start of the current second: step past `after` itself.
  return at > after ? at : it.next().getTime()
}
