import type { Manifest, Reply } from '../protocol/messages.js'
import { WispError } from '../shared/errors.js'
import type { Invocation, ReplyAddress } from './inflight.js'
import type { Recovered, StoredInvocation } from './inflight-store.js'

export interface Answer {
  readonly invocation: string
  readonly requestId: string
  readonly fn: string
  readonly receivedAt: number
  readonly to: ReplyAddress | null
  readonly reply: Reply
}

export interface Recovery {
  /** Invocations to dispatch again, each on a new attempt (the old one may still be running). */
  readonly resume: Invocation[]
  /** Invocations that can no longer run: answer them now. */
  readonly answer: Answer[]
  readonly seen: ReadonlyArray<readonly [string, number]>
}

/**
 * Turns what the store kept into decisions, without side effects: past its deadline plus the
 * reply grace an invocation is answered WISP_TIMEOUT; a function since removed or redeployed
 * under other code is answered WISP_UNKNOWN_FUNCTION; everything else runs again.
 */
export const recoverInvocations = (r: Recovered, o: { now: number, graceMs: number, manifest: (fn: string) => Manifest | undefined }): Recovery => {
  const resume: Invocation[] = []
  const answer: Answer[] = []
  const fail = (s: StoredInvocation, e: WispError): void => {
    answer.push({ invocation: s.invocation, requestId: s.requestId, fn: s.fn, receivedAt: s.receivedAt, to: replyOf(s), reply: { ok: false, error: e.toJSON() } })
  }
  for (const s of r.invocations) {
    const m = o.manifest(s.fn)
    if (m === undefined || m.sha256 !== s.sha256) fail(s, new WispError('WISP_UNKNOWN_FUNCTION', `"${s.fn}" was removed or redeployed while the gateway restarted`))
    else if (o.now >= s.deadline + o.graceMs) fail(s, new WispError('WISP_TIMEOUT', `the gateway restarted and "${s.fn}" is past its deadline`))
    else resume.push(toInvocation(s, m))
  }
  return { resume, answer, seen: r.seen }
}

const replyOf = (s: StoredInvocation): ReplyAddress | null =>
  s.reply === null ? null : { topic: s.reply.topic, ...(s.reply.correlationData === undefined ? {} : { correlationData: Buffer.from(s.reply.correlationData, 'hex') }), ...(s.reply.qos === undefined ? {} : { qos: s.reply.qos }) }

const toInvocation = (s: StoredInvocation, manifest: Manifest): Invocation => ({
  invocation: s.invocation,
  requestId: s.requestId,
  dedupeKey: s.dedupeKey,
  fn: s.fn,
  manifest,
  event: s.event,
  eventBytes: Buffer.byteLength(JSON.stringify(s.event) ?? ''),
  reply: replyOf(s),
  receivedAt: s.receivedAt,
  deadline: s.deadline,
  attempt: s.attempt + 1,
  board: null,
  sentTo: [],
  dispatchedAt: 0,
  timer: null,
  ...(s.options === undefined ? {} : { options: s.options }),
  ...(s.notBefore === undefined ? {} : { notBefore: s.notBefore }),
  ...(s.variantOf === undefined ? {} : { variantOf: s.variantOf }),
  ...(s.latestStart === undefined ? {} : { latestStart: s.latestStart })
})
