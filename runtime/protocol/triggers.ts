import { CronExpressionParser } from 'cron-parser'
import { z } from 'zod'

/** How many topic filters one function may be triggered by, and how long each may be (bytes). */
export const MAX_TRIGGER_TOPICS = 8
export const MAX_TRIGGER_FILTER_BYTES = 256
/** Bounds of `--every` (ms): no faster than once a second, no slower than once a week. */
export const MIN_EVERY_MS = 1000
export const MAX_EVERY_MS = 7 * 24 * 3600_000
export const DEFAULT_TRIGGER_TZ = 'UTC'

/**
 * Why an MQTT topic filter cannot trigger a function, or null when it can. Besides the filter
 * grammar (MQTT 3.1.1 §4.7: '#' alone and last, '+' alone in its level), nothing under the
 * wisp prefix may trigger a function, nor any filter that could match a topic there (`#`,
 * `+/...`), nor a broker topic (`$SYS/...`): a trigger must never see the cluster's own traffic.
 */
export const triggerFilterProblem = (filter: string, prefix = 'wisp'): string | null => {
  if (filter.length === 0) return 'is empty'
  if (Buffer.byteLength(filter, 'utf8') > MAX_TRIGGER_FILTER_BYTES) return `is longer than ${MAX_TRIGGER_FILTER_BYTES} bytes`
  if (filter.includes('\u0000')) return 'contains a NUL character'
  const levels = filter.split('/')
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i] as string
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return "uses '#' other than as the whole last level"
    if (l.includes('+') && l !== '+') return "uses '+' other than as a whole level"
  }
  const first = levels[0] as string
  if (first === prefix) return `is under "${prefix}/", the cluster's own topics`
  if (first === '#' || first === '+') return `starts with a wildcard, so it would match "${prefix}/..." (the cluster's own topics); start it with a topic level such as "sensors/"`
  if (first.startsWith('$')) return 'is a broker topic ($...)'
  return null
}

/** Why a cron expression (5 fields, or 6 with seconds first) is unusable in `tz`, or null. */
export const cronProblem = (expr: string, tz: string): string | null => {
  const fields = expr.trim().split(/\s+/)
  if (fields.length !== 5 && fields.length !== 6) return `"${expr}" has ${fields.length} fields; expected 5 (minute hour day month weekday) or 6 (seconds first)`
  try {
    CronExpressionParser.parse(expr, { tz }).next()
    return null
  } catch (err) {
    return `"${expr}": ${(err as Error).message}`
  }
}

export const isTimeZone = (tz: string): boolean => {
  try { new Intl.DateTimeFormat('en-US', { timeZone: tz }).format(0); return true } catch { return false }
}

const filter = z.string().superRefine((f, ctx) => {
  const why = triggerFilterProblem(f)
  if (why !== null) ctx.addIssue({ code: 'custom', message: `topic filter "${f.slice(0, 80)}" ${why}` })
})

/**
 * What makes a function run besides `<prefix>/invoke/<fn>`: messages on MQTT topic filters
 * (`on`), and at most one schedule (`every_ms`, or `cron` read in time zone `tz`). Every
 * trigger of the function has its own concurrency bound and rate (token bucket of `rate`
 * events a second, `burst` at once); past either the event goes to the dead-letter topic.
 */
export const TriggersSchema = z.object({
  on: z.array(filter).max(MAX_TRIGGER_TOPICS).default([]),
  every_ms: z.number().int().min(MIN_EVERY_MS, 'must be at least 1 s (--every 1s)').max(MAX_EVERY_MS, 'must be at most 7 days').optional(),
  cron: z.string().min(1).max(128).optional(),
  tz: z.string().min(1).max(64).refine(isTimeZone, 'is not an IANA time zone (e.g. "UTC", "Europe/Paris")').default(DEFAULT_TRIGGER_TZ),
  concurrency: z.number().int().min(1).max(10_000).default(16),
  rate: z.number().min(0.001).max(100_000).default(100),
  burst: z.number().int().min(1).max(100_000).default(200)
}).superRefine((t, ctx) => {
  if (t.every_ms !== undefined && t.cron !== undefined) ctx.addIssue({ code: 'custom', path: ['cron'], message: 'a function has one schedule: --every or --cron, not both' })
  if (t.cron !== undefined) {
    const why = cronProblem(t.cron, t.tz)
    if (why !== null) ctx.addIssue({ code: 'custom', path: ['cron'], message: `invalid cron expression ${why}` })
  }
  if (new Set(t.on).size !== t.on.length) ctx.addIssue({ code: 'custom', path: ['on'], message: 'lists a topic filter twice' })
})
export type Triggers = z.infer<typeof TriggersSchema>
