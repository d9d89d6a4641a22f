import type { Manifest } from '../protocol/messages.js'
import type { TimerHandle } from '../shared/clock.js'
import type { InvokeOptions } from './policies/green.js'

export interface ReplyAddress {
  readonly topic: string
  readonly correlationData?: Buffer
  /** 2 when the invoke came at QoS 2: its reply goes at QoS 2 too (exactly once to a QoS 2 subscriber); absent: QoS 1. */
  readonly qos?: 2
}

/** One accepted invocation, from the invoke message until exactly one reply is published. */
export interface Invocation {
  readonly invocation: string
  readonly requestId: string
  readonly dedupeKey: string | null
  readonly fn: string
  readonly manifest: Manifest
  readonly event: unknown
  /** Size of the event as it arrived (its JSON): what holding it costs, against the leader's byte budget. */
  readonly eventBytes: number
  readonly reply: ReplyAddress | null
  readonly receivedAt: number
  readonly deadline: number
  /** How many `context.invoke` calls led to it (0 or absent: invoked from outside). */
  readonly depth?: number
  attempt: number
  board: string | null
  /** Boards sent an attempt of it since this gateway accepted or recovered it: only they may answer. */
  readonly sentTo: string[]
  dispatchedAt: number
  timer: TimerHandle | null
  /** Settles once its acceptance (and request key) is on disk; its reply waits for it. Absent without a store. */
  stored?: Promise<void>
  /** Options from the invoke envelope (deadline, deferrable, energy budget); absent = none. */
  readonly options?: InvokeOptions
  /** The invoked function when its caller accepted variants (`fn` is then the variant that runs). */
  readonly variantOf?: string
  /** A deferred invocation waits at the leader until then (a lower-carbon window). */
  notBefore?: number
  /** The latest a deferred invocation may start and still meet its deadline: until then it never wakes a board. */
  latestStart?: number
}

/**
 * Invocations the leader has accepted and not yet answered, plus recently answered request
 * keys, so that a client's retry of the same `<client>/<req>` never produces a second reply.
 */
export class InflightTable {
  private readonly byId = new Map<string, Invocation>()
  private readonly seen = new Map<string, number>()
  /** In-flight invocations per function (queued, waiting or running): the policies' demand. */
  readonly byFn = new Map<string, number>()
  private heldBytes = 0

  constructor (private readonly rememberMs = 10 * 60_000, private readonly maxRemembered = 100_000) {}

  /** True when the request key was seen recently (in flight or answered). */
  isDuplicate (key: string, now: number): boolean {
    const at = this.seen.get(key)
    return at !== undefined && now - at < this.rememberMs
  }

  add (inv: Invocation, now: number): void {
    this.byId.set(inv.invocation, inv)
    this.heldBytes += inv.eventBytes
    this.byFn.set(inv.fn, (this.byFn.get(inv.fn) ?? 0) + 1)
    if (inv.dedupeKey !== null) {
      this.seen.set(inv.dedupeKey, now)
      if (this.seen.size > this.maxRemembered) this.forgetOldest(now)
    }
  }

  /** A request key seen before a restart (recovered from the store). */
  remember (key: string, at: number): void { this.seen.set(key, at) }

  get (id: string): Invocation | undefined { return this.byId.get(id) }
  delete (id: string): void {
    const inv = this.byId.get(id)
    if (inv === undefined) return
    this.byId.delete(id)
    this.heldBytes -= inv.eventBytes
    const n = (this.byFn.get(inv.fn) ?? 1) - 1
    if (n > 0) this.byFn.set(inv.fn, n); else this.byFn.delete(inv.fn)
  }
  onBoard (board: string): Invocation[] { return [...this.byId.values()].filter((i) => i.board === board) }
  waiting (): Invocation[] { return [...this.byId.values()].filter((i) => i.board === null) }
  get size (): number { return this.byId.size }
  /** Bytes of the events held (in flight or waiting). */
  get bytes (): number { return this.heldBytes }

  private forgetOldest (now: number): void {
    for (const [k, at] of this.seen) {
      if (this.seen.size <= this.maxRemembered * 0.9 && now - at < this.rememberMs) break
      this.seen.delete(k)
    }
  }
}
