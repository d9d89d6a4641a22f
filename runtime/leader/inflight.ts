import type { Manifest } from '../protocol/messages.js'
import type { TimerHandle } from '../shared/clock.js'

export interface ReplyAddress {
  readonly topic: string
  readonly correlationData?: Buffer
}

/** One accepted invocation, from the invoke message until exactly one reply is published. */
export interface Invocation {
  readonly invocation: string
  readonly requestId: string
  readonly dedupeKey: string | null
  readonly fn: string
  readonly manifest: Manifest
  readonly event: unknown
  readonly reply: ReplyAddress | null
  readonly receivedAt: number
  readonly deadline: number
  attempt: number
  board: string | null
  dispatchedAt: number
  timer: TimerHandle | null
}

/**
 * Invocations the leader has accepted and not yet answered, plus recently answered request
 * keys, so that a client's retry of the same `<client>/<req>` never produces a second reply.
 */
export class InflightTable {
  private readonly byId = new Map<string, Invocation>()
  private readonly seen = new Map<string, number>()

  constructor (private readonly rememberMs = 10 * 60_000, private readonly maxRemembered = 100_000) {}

  /** True when the request key was seen recently (in flight or answered). */
  isDuplicate (key: string, now: number): boolean {
    const at = this.seen.get(key)
    return at !== undefined && now - at < this.rememberMs
  }

  add (inv: Invocation, now: number): void {
    this.byId.set(inv.invocation, inv)
    if (inv.dedupeKey !== null) {
      this.seen.set(inv.dedupeKey, now)
      if (this.seen.size > this.maxRemembered) this.forgetOldest(now)
    }
  }

  get (id: string): Invocation | undefined { return this.byId.get(id) }
  delete (id: string): void { this.byId.delete(id) }
  onBoard (board: string): Invocation[] { return [...this.byId.values()].filter((i) => i.board === board) }
  all (): IterableIterator<Invocation> { return this.byId.values() }
  waiting (): Invocation[] { return [...this.byId.values()].filter((i) => i.board === null) }
  get size (): number { return this.byId.size }

  private forgetOldest (now: number): void {
    for (const [k, at] of this.seen) {
      if (this.seen.size <= this.maxRemembered * 0.9 && now - at < this.rememberMs) break
      this.seen.delete(k)
    }
  }
}
