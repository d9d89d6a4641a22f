import type { Manifest } from '../protocol/messages.js'
import type { Invocation } from './inflight.js'
import { newInvocationId } from './on-invoke.js'

/**
 * An invocation the leader makes itself (a topic trigger or a schedule tick): no reply
 * address and no dedupe key; its outcome reaches whoever made it through the leader's
 * completion listeners, under `requestId`. A chained invoke (`context.invoke`) passes its
 * caller's deadline, which it never outlives, and its depth.
 */
export const ownInvocation = (o: { fn: string, manifest: Manifest, event: unknown, eventBytes: number, requestId: string, now: number, waitMs: number, deadline?: number, depth?: number }): Invocation => ({
  invocation: newInvocationId(),
  requestId: o.requestId,
  dedupeKey: null,
  fn: o.fn,
  manifest: o.manifest,
  event: o.event,
  eventBytes: o.eventBytes,
  reply: null,
  receivedAt: o.now,
  deadline: Math.min(o.deadline ?? Infinity, o.now + o.waitMs + o.manifest.timeout_ms),
  depth: o.depth ?? 0,
  attempt: 0,
  board: null,
  sentTo: [],
  dispatchedAt: 0,
  timer: null
})
