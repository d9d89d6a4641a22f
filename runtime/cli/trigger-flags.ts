import type { z } from 'zod'
import type { Manifest } from '../protocol/messages.js'
import { DEFAULT_TRIGGER_TZ, type TriggersSchema } from '../protocol/triggers.js'
import { WispError } from '../shared/errors.js'
import { parseDuration } from './duration.js'

export interface TriggerFlags {
  on: string[]
  every?: string
  cron?: string
  tz: string
  triggerConcurrency?: number
  triggerRate?: number
}

/** commander: a repeatable option collects its values. */
export const collect = (value: string, prev: string[]): string[] => [...prev, value]

export const numberOption = (flag: string) => (value: string): number => {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new WispError('WISP_BAD_CONFIG', `${flag} must be a positive number, got "${value}"`)
  return n
}

/** The manifest's `triggers` from `wisp deploy`'s flags (undefined: none); the schema validates them. */
export const triggerOptions = (o: TriggerFlags): z.input<typeof TriggersSchema> | undefined => {
  if (o.every !== undefined && o.cron !== undefined) throw new WispError('WISP_BAD_CONFIG', 'a function has one schedule: give --every or --cron, not both')
  if (o.tz !== DEFAULT_TRIGGER_TZ && o.cron === undefined) throw new WispError('WISP_BAD_CONFIG', '--tz applies to --cron only')
  const none = o.on.length === 0 && o.every === undefined && o.cron === undefined
  if (none) {
    if (o.triggerConcurrency !== undefined || o.triggerRate !== undefined) throw new WispError('WISP_BAD_CONFIG', '--trigger-concurrency and --trigger-rate need --on, --every or --cron')
    return undefined
  }
  return {
    on: o.on,
    every_ms: o.every === undefined ? undefined : parseDuration('--every', o.every),
    cron: o.cron,
    tz: o.tz,
    concurrency: o.triggerConcurrency,
    rate: o.triggerRate,
    burst: o.triggerRate === undefined ? undefined : Math.max(1, Math.ceil(o.triggerRate * 2))
  }
}

/** `, on sensors/+/temp, cron "*\/5 * * * *" (UTC)` for the deploy message. */
export const describeTriggers = (m: Manifest): string => {
  const t = m.triggers
  if (t === undefined) return ''
  const parts = t.on.map((f) => `on ${f}`)
  if (t.every_ms !== undefined) parts.push(`every ${t.every_ms} ms`)
  if (t.cron !== undefined) parts.push(`cron "${t.cron}" (${t.tz})`)
  return parts.length > 0 ? `, ${parts.join(', ')}` : ''
}

/** `, publishes actuators/#` for the deploy message. */
export const describePublishes = (m: Manifest): string =>
  m.publishes === undefined || m.publishes.length === 0 ? '' : `, publishes ${m.publishes.join(', ')}`
