import { randomBytes } from 'node:crypto'
import { CAP_LIMITS, capError, checkCapCall, parseCapRequest, type CapCall, type CapResult } from '../protocol/capabilities.js'
import { encode, parseEvent } from '../protocol/messages.js'
import type { Topics } from '../protocol/topics.js'
import type { Clock } from '../shared/clock.js'
import { asWispError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import type { InboundMessage, Transport } from '../transport/transport.js'
import { publishRefusal } from './cap-publish.js'
import type { Invocation } from './inflight.js'
import type { KvStorage } from './kv-storage.js'
import type { Completion } from './leader.js'

export interface CapServerDeps {
  readonly transport: Transport
  readonly topics: Topics
  readonly clock: Clock
  readonly log: Logger
  readonly kv: KvStorage
  /**
   * Where the embedded broker's hook takes trigger messages (the trigger runner does not subscribe
   * there), a handler's publish is handed to it too, since the gateway's own publishes skip that hook.
   */
  readonly published?: (m: InboundMessage) => Promise<void>
  readonly leader: {
    runningOn: (id: string, board: string) => Invocation | undefined
    submit: (fn: string, event: unknown, requestId: string, chain?: { deadline: number, depth: number }) => void
    onCompletion: (l: (c: Completion) => void) => () => void
    readonly opts: { readonly maxEventBytes: number }
  }
}

/** What the gateway keeps per invocation making capability calls (per attempt); gone with the invocation. */
interface Session { attempt: number, calls: number, chain: Promise<void> }

/**
 * The gateway's side of handlers' capabilities. A call is allowed only for an invocation the
 * leader has sent to the very board that asks (its board id is the topic level the broker's ACL
 * ties to its account), and only as that invocation's function: the function's manifest decides
 * what it may publish, its name namespaces its KV keys, and its deadline and depth bound what it
 * invokes. Calls of one invocation are answered in the order they came (read-your-writes);
 * `invoke` calls run beside them.
 */
export class CapServer {
  private readonly sessions = new WeakMap<Invocation, Session>()
  private readonly chained = new Map<string, (r: CapResult) => void>()
  private unlisten: (() => void) | null = null

  constructor (private readonly d: CapServerDeps) {}

  async start (): Promise<void> {
    this.unlisten = this.d.leader.onCompletion((c) => { this.completed(c) })
    await this.d.transport.subscribe(this.d.topics.boardFilter('cap'), (m) => { this.onRequest(m) })
  }

  async stop (): Promise<void> {
    this.unlisten?.()
    this.unlisten = null
    await this.d.transport.unsubscribe(this.d.topics.boardFilter('cap')).catch(() => {})
    for (const [id, resolve] of this.chained) { this.chained.delete(id); resolve(capError('WISP_OVERLOADED', 'the gateway is stopping')) }
  }

  private onRequest (m: InboundMessage): void {
    let board: string
    let req
    try {
      const t = this.d.topics.parse(m.topic)
      if (t.kind !== 'board' || t.channel !== 'cap' || m.retain) return
      board = t.id
      req = parseCapRequest(m.payload)
    } catch (err) {
      this.d.log.debug('capability request ignored', { topic: m.topic, err: (err as Error).message })
      return
    }
    const id = req.id
    const answer = (r: CapResult): void => {
      this.d.transport.publish(this.d.topics.board(board, 'cap-reply'), encode({ v: 1, id, result: r }), { qos: 1 })
        .catch((err: Error) => this.d.log.warn('capability reply failed', { board, err: err.message }))
    }
    const inv = this.d.leader.runningOn(req.invocation, board)
    if (inv === undefined) { answer(capError('WISP_FORBIDDEN', `invocation ${req.invocation} is not running on board ${board}`)); return }
    const checked = checkCapCall(req.call)
    if (!checked.ok) { answer({ ok: false, error: checked.error }); return }
    let s = this.sessions.get(inv)
    if (s === undefined || s.attempt !== inv.attempt) { s = { attempt: inv.attempt, calls: 0, chain: s?.chain ?? Promise.resolve() }; this.sessions.set(inv, s) }
    if (s.calls >= CAP_LIMITS.callsPerInvocation) { answer(capError('WISP_CAP_LIMIT', `an invocation may make ${CAP_LIMITS.callsPerInvocation} capability calls`)); return }
    s.calls++
    const call = checked.call
    const deadline = Math.min(inv.deadline, this.d.clock.now() + req.budget_ms)
    const run = async (): Promise<void> => { answer(await this.serve(inv, call, deadline).catch((err: unknown) => { const e = asWispError(err); return capError(e.code, e.message) })) }
    if (call.op === 'invoke') { void run(); return }
    s.chain = s.chain.then(run)
  }

  private async serve (inv: Invocation, call: CapCall, deadline: number): Promise<CapResult> {
    const fn = inv.fn
    const now = this.d.clock.now()
    switch (call.op) {
      case 'publish': {
        const why = publishRefusal(inv.manifest, call.topic, this.d.topics.prefix)
        if (why !== null) return capError('WISP_FORBIDDEN', why)
        await this.d.transport.publish(call.topic, call.payload, { qos: call.qos, retain: call.retain })
        await this.d.published?.({ topic: call.topic, payload: Buffer.from(call.payload), retain: false, qos: call.qos })
        return { ok: true, value: null }
      }
      case 'kv.get': {
        const text = await this.d.kv.get(fn, call.key, now)
        return { ok: true, value: text === undefined ? null : JSON.parse(text) as unknown }
      }
      case 'kv.put':
        try { JSON.parse(call.value) } catch { return capError('WISP_BAD_PAYLOAD', 'kv.put: the value is not JSON') }
        await this.d.kv.put(fn, call.key, call.value, call.ttl_ms, now)
        return { ok: true, value: null }
      case 'kv.delete':
        await this.d.kv.delete(fn, call.key)
        return { ok: true, value: null }
      case 'kv.list':
        return { ok: true, value: await this.d.kv.list(fn, call.prefix, now) }
      case 'invoke':
        return await this.invoke(inv, call.fn, call.event, deadline, now)
    }
  }

  /** Runs `fn` through the leader, with no more time than the caller has left (`deadline`). */
  private async invoke (caller: Invocation, fn: string, eventJson: string, deadline: number, now: number): Promise<CapResult> {
    const depth = (caller.depth ?? 0) + 1
    if (depth > CAP_LIMITS.chainDepth) return capError('WISP_CAP_LIMIT', `invoke: chained invokes may go ${CAP_LIMITS.chainDepth} deep; ${caller.fn} is already at depth ${depth - 1}`)
    if (deadline <= now) return capError('WISP_TIMEOUT', 'invoke: no time left before the deadline')
    let event: unknown
    try { event = parseEvent(Buffer.from(eventJson), this.d.leader.opts.maxEventBytes) } catch (err) {
      const e = asWispError(err, 'WISP_BAD_PAYLOAD')
      return capError(e.code, `invoke: ${e.message}`)
    }
    const requestId = `c${randomBytes(9).toString('base64url')}`
    const done = new Promise<CapResult>((resolve) => { this.chained.set(requestId, resolve) })
    this.d.leader.submit(fn, event, requestId, { deadline, depth })
    return await done
  }

  private completed (c: Completion): void {
    const resolve = this.chained.get(c.requestId)
    if (resolve === undefined) return
    this.chained.delete(c.requestId)
    resolve(c.reply.ok ? { ok: true, value: c.reply.result } : { ok: false, error: c.reply.error })
  }
}
