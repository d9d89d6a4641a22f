import { z } from 'zod'
import { MAX_TRIGGER_FILTER_BYTES, triggerFilterProblem } from './triggers.js'

/** How many topic filters one function may publish to. */
export const MAX_PUBLISH_FILTERS = 8

/**
 * Why `topic` cannot be the topic of a `context.publish`, or null when it can: a plain topic
 * name (no wildcards), not under the wisp prefix and not a broker topic. Whether the function
 * declared it is the gateway's check (runtime/leader/cap-publish.ts).
 */
export const publishTopicProblem = (topic: string, prefix = 'wisp'): string | null => {
  if (topic.length === 0) return 'is empty'
  if (Buffer.byteLength(topic, 'utf8') > MAX_TRIGGER_FILTER_BYTES) return `is longer than ${MAX_TRIGGER_FILTER_BYTES} bytes`
  if (topic.includes('\u0000')) return 'contains a NUL character'
  if (topic.includes('+') || topic.includes('#')) return 'contains a wildcard (+ or #); publish to a topic name'
  const first = topic.split('/')[0] as string
  if (first === prefix) return `is under "${prefix}/", the cluster's own topics`
  if (first.startsWith('$')) return 'is a broker topic ($...)'
  return null
}

/**
 * The manifest's `publishes`: MQTT topic filters (`actuators/#`) the handler may publish to. The
 * same rules as trigger filters: nothing under the wisp prefix, no filter starting with a
 * wildcard (it would match the cluster's own topics), no broker topic.
 */
export const PublishesSchema = z.array(z.string().superRefine((f, ctx) => {
  const why = triggerFilterProblem(f)
  if (why !== null) ctx.addIssue({ code: 'custom', message: `publish filter "${f.slice(0, 80)}" ${why}` })
})).max(MAX_PUBLISH_FILTERS).superRefine((a, ctx) => {
  if (new Set(a).size !== a.length) ctx.addIssue({ code: 'custom', message: 'lists a publish filter twice' })
})
