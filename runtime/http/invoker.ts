import { randomBytes } from 'node:crypto'
import type { Reply } from '../protocol/messages.js'
import type { Topics } from '../protocol/topics.js'
import type { InboundMessage } from '../transport/transport.js'
import type { Completion, Leader } from '../leader/leader.js'
import type { Registry } from '../leader/registry.js'

/** What became of one HTTP invoke at admission. */
export type Admission =
  /** Refused at once (bad event, unknown function, rate limit, overload): the error reply. */
  | { kind: 'refused', reply: Reply }
  /** In flight; `result` settles with its reply (or null when the wait is abandoned). */
  | { kind: 'accepted', result: Promise<Reply | null> }
  /** The request id was used by this client recently: joined the HTTP request still waiting for it, if any. */
  | { kind: 'duplicate', result: Promise<Reply | null> | null }

/** A fresh request id (96 random bits, fits the `<req>` grammar). */
export const newRequestId = (): string => `h${randomBytes(12).toString('base64url')}`

/**
 * HTTP invokes through the leader's own invoke path: each one is the message an MQTT client
 * would publish on `<prefix>/invoke/<fn>/<client>/<req>`, admitted by leader.admit() (validation,
 * per-client rate limit, dedupe of `<client>/<fn>/<req>`, persistence, retries). Its reply is
 * the leader's completion for the invocation (an in-process listener, keyed by the reply topic the
 * leader also publishes it on, `<prefix>/result/<client>/<fn>/<req>`, where an async invoke's
 * result can be read by an MQTT client of the same account). It used to subscribe to
 * `<prefix>/result/#`: every result in the cluster crossed the broker to the gateway once more,
 * and any client allowed to publish there could answer a waiting HTTP request.
 */
export class HttpInvoker {
  private readonly waiters = new Map<string, Set<(r: Reply | null) => void>>()
  private off: (() => void) | undefined

  constructor (private readonly d: { leader: Leader, registry: Registry, topics: Topics }) {}

  async start (): Promise<void> {
    this.off ??= this.d.leader.onCompletion((c) => { this.onCompletion(c) })
  }

  async stop (): Promise<void> {
    this.off?.()
    this.off = undefined
    for (const set of this.waiters.values()) for (const w of set) w(null)
    this.waiters.clear()
  }

  /** How long an HTTP request may wait for `fn`: past the leader's own answer (deadline plus grace). */
  maxWaitMs (fn: string): number {
    const o = this.d.leader.opts
    return o.waitMs + (this.d.registry.get(fn)?.timeout_ms ?? 0) + o.replyGraceMs + 5000
  }

  /**
   * Admits `payload` as an invoke of `fn` by `client` under request id `req` (all already
   * validated against the topic grammar). `wait`: also wait for the reply.
   */
  async invoke (fn: string, client: string, req: string, payload: Buffer, wait: boolean): Promise<Admission> {
    const { leader, topics } = this.d
    const topic = topics.result(client, fn, req)
    const joined = this.waiters.has(topic)
    const result = wait ? this.wait(topic) : null
    // The leader answers a refusal synchronously, through its completion listeners; an accepted
    // invocation enters its in-flight table synchronously; a duplicate does neither.
    let refusal: Reply | null = null
    const before = leader.inflightCount()
    const off = leader.onCompletion((c) => { if (c.replyTopic === topic && refusal === null) refusal = c.reply })
    let admitted: Promise<void>
    try {
      admitted = leader.admit({ topic: topics.invoke(fn, client, req), payload, retain: false, qos: 1 } satisfies InboundMessage)
    } finally { off() }
    const accepted = leader.inflightCount() > before
    await admitted
    if (refusal !== null) { this.forget(topic, result); return { kind: 'refused', reply: refusal } }
    if (accepted) return { kind: 'accepted', result: result ?? Promise.resolve(null) }
    if (joined && result !== null) return { kind: 'duplicate', result }
    this.forget(topic, result)
    return { kind: 'duplicate', result: null }
  }

  /** Stops waiting for `topic` on behalf of one request (its client went away or timed out). */
  abandon (fn: string, client: string, req: string, result: Promise<Reply | null>): void {
    this.forget(this.d.topics.result(client, fn, req), result)
  }

  private readonly resolvers = new WeakMap<Promise<Reply | null>, (r: Reply | null) => void>()

  private wait (topic: string): Promise<Reply | null> {
    let resolve: (r: Reply | null) => void = () => {}
    const p = new Promise<Reply | null>((res) => { resolve = res })
    let set = this.waiters.get(topic)
    if (set === undefined) { set = new Set(); this.waiters.set(topic, set) }
    set.add(resolve)
    this.resolvers.set(p, resolve)
    return p
  }

  private forget (topic: string, result: Promise<Reply | null> | null): void {
    if (result === null) return
    const resolve = this.resolvers.get(result)
    const set = this.waiters.get(topic)
    if (resolve === undefined || set === undefined) return
    set.delete(resolve)
    if (set.size === 0) this.waiters.delete(topic)
    resolve(null)
  }

  private onCompletion (c: Completion): void {
    if (c.replyTopic === null) return
    const set = this.waiters.get(c.replyTopic)
    if (set === undefined) return
    this.waiters.delete(c.replyTopic)
    for (const w of set) w(c.reply)
  }
}
