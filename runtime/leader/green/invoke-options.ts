import { z } from 'zod'
import { WispError } from '../../shared/errors.js'
import { firstIssue } from '../../shared/zod-issue.js'
import type { InvokeOptions } from '../policies/green.js'

/** The key of an invoke payload that makes it an envelope: `{"$wisp": {options}, "event": <the event>}`. */
export const ENVELOPE_KEY = '$wisp'
/** The longest deadline an invoke may ask for (a day). */
export const MAX_DEADLINE_MS = 24 * 3600_000

const OptionsSchema = z.object({
  deadline_ms: z.number().int().min(1).max(MAX_DEADLINE_MS).optional(),
  deferrable: z.boolean().optional(),
  /** Energy budget in mJ. */
  budget: z.number().positive().max(1e9).optional(),
  /** The leader may run one of the function's variants instead (manifest `variants`). */
  accept_variants: z.boolean().optional()
}).strict().refine((o) => o.deferrable !== true || o.deadline_ms !== undefined, { message: 'a deferrable invocation needs deadline_ms', path: ['deadline_ms'] })

const EnvelopeSchema = z.object({ [ENVELOPE_KEY]: OptionsSchema, event: z.unknown().optional() }).strict()

/**
 * Splits a parsed invoke payload into the event and its options. A JSON object with the key
 * `$wisp` is an envelope (its `event` is the event, absent = null); anything else is the event
 * itself, with no options. A bad envelope is WISP_BAD_PAYLOAD.
 */
export const splitEnvelope = (payload: unknown): { event: unknown, options: InvokeOptions | null } => {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload) || !Object.hasOwn(payload, ENVELOPE_KEY)) return { event: payload, options: null }
  const r = EnvelopeSchema.safeParse(payload)
  if (!r.success) {
    const { where, message } = firstIssue(r.error)
    throw new WispError('WISP_BAD_PAYLOAD', `invoke envelope: ${where}: ${message}`)
  }
  const o = r.data[ENVELOPE_KEY]
  const options: InvokeOptions = {
    ...(o.deadline_ms === undefined ? {} : { deadlineMs: o.deadline_ms }),
    ...(o.deferrable === undefined ? {} : { deferrable: o.deferrable }),
    ...(o.budget === undefined ? {} : { budgetMj: o.budget }),
    ...(o.accept_variants === undefined ? {} : { acceptVariants: o.accept_variants })
  }
  return { event: r.data.event ?? null, options }
}
