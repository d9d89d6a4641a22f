import { responseRatio } from '../shared/response-ratio.js'

/** How a run queue reads its items: when each arrived and its function's expected run time. */
export interface RunQueueItems<T> {
  /** When the item joined the queue (ms). */
  readonly since: (item: T) => number
  /** The run time (ms) its response ratio is taken against: its function's harmonic-mean run time. */
  readonly harmonicMs: (item: T) => number
}

/** What one dispatch pass asks of the board that owns the queue. */
export interface DrainHooks<K, T> {
  /** A core (run slot) is free. */
  readonly room: () => boolean
  /** fn could get a runtime now (a warm slot, or room for one more). */
  readonly canStart: (fn: K) => boolean
  /** Starts item; false when no runtime could be had after all (the function is set aside for this pass). */
  readonly start: (item: T) => boolean
}

interface Fifo<T> { items: T[], head: number }

/**
 * The board's run queue: one FIFO per function, served highest response ratio first (see
 * `responseRatio`) against each function's harmonic-mean run time. A head that cannot start
 * (no runtime to be had) is skipped for the rest of the pass. Plain state: no clock, no timers;
 * the agent drives it with promises and the simulator with events.
 */
export class RunQueue<K, T> {
  private readonly fq = new Map<K, Fifo<T>>()
  /** The functions with some waiting; a pass keeps the ones set aside at its end. */
  private readonly waiting: K[] = []
  private count = 0

  constructor (private readonly read: RunQueueItems<T>) {}

  /** Items waiting, over all functions. */
  get size (): number { return this.count }

  push (fn: K, item: T): void {
    let q = this.fq.get(fn)
    if (q === undefined) { q = { items: [], head: 0 }; this.fq.set(fn, q) }
    if (q.items.length === q.head) this.waiting.push(fn)
    q.items.push(item)
    this.count++
  }

  /** Takes item out of fn's queue wherever it stands (a waiter that gave up); false when it is not there. */
  remove (fn: K, item: T): boolean {
    const q = this.fq.get(fn)
    if (q === undefined) return false
    const i = q.items.indexOf(item, q.head)
    if (i < 0) return false
    q.items.splice(i, 1)
    this.count--
    if (q.items.length === q.head) this.retire(fn, q, this.waiting.indexOf(fn), 0)
    return true
  }

  /** Per function with some waiting, how many wait. */
  * lengths (): IterableIterator<[K, number]> {
    for (const fn of this.waiting) { const q = this.fq.get(fn)!; yield [fn, q.items.length - q.head] }
  }

  /** Starts heads while there is room, the highest response ratio at `now` that can start first. */
  drain (now: number, d: DrainHooks<K, T>): void {
    let blocked = 0 // functions (at the end of `waiting`) whose head cannot get a runtime now
    while (this.waiting.length > blocked && d.room()) {
      const open = this.waiting.length - blocked
      let best = -1
      let bestRatio = -Infinity
      for (let k = 0; k < open; k++) {
        const fn = this.waiting[k]!
        const q = this.fq.get(fn)!
        const item = q.items[q.head]!
        const r = responseRatio(now - this.read.since(item), this.read.harmonicMs(item))
        if (r > bestRatio && d.canStart(fn)) { bestRatio = r; best = k }
      }
      if (best < 0) return
      const fn = this.waiting[best]!
      const q = this.fq.get(fn)!
      if (!d.start(q.items[q.head]!)) {
        // No runtime after all: set this function aside for this pass (swap it behind the open part).
        blocked++
        const last = this.waiting.length - blocked
        this.waiting[best] = this.waiting[last]!
        this.waiting[last] = fn
        continue
      }
      q.head++
      this.count--
      if (q.head === q.items.length) this.retire(fn, q, best, blocked)
    }
  }

  /** fn's queue is empty: forget it, keeping the set-aside functions at the end of `waiting`. */
  private retire (fn: K, q: Fifo<T>, at: number, blocked: number): void {
    q.items.length = 0
    q.head = 0
    this.fq.delete(fn)
    if (at < 0) return
    const last = this.waiting.length - 1 - blocked
    this.waiting[at] = this.waiting[last]!
    if (blocked > 0) this.waiting[last] = this.waiting[this.waiting.length - 1]!
    this.waiting.pop()
  }
}
