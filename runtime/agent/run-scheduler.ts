import type { Clock, TimerHandle } from '../shared/clock.js'
import { WispError } from '../shared/errors.js'
import { responseRatio, WORK_CLASSES, workClass } from '../shared/response-ratio.js'

export interface RunSchedulerOptions {
  /** Invocations that may run at once (the board's cores by default). */
  readonly slots: number
  /** Expected run time (ms) of a function not yet measured on this board. */
  readonly defaultMs: number
  readonly clock: Clock
  /** Weight of the newest run time in each function's moving average. */
  readonly alpha?: number
  /**
   * Extra runs, beyond `slots`, that only short functions may use (default 1): a short run then
   * never waits for a long one to finish, it shares a core with it for its few milliseconds.
   */
  readonly shortLane?: number
  /**
   * A function is short here when its measured harmonic-mean run time is at most this (ms; default
   * 50): the occasional run stretched by a busy CPU does not take the lane from it. A function not
   * yet measured here counts as short, so its first run on a board (a light function's too) does
   * not wait behind long ones; a long one then holds the lane once and is known from then on.
   */
  readonly shortMs?: number
}

/** Defaults of the short lane: one extra run for functions not measured here or measured at 50 ms or less. */
export const SHORT_LANE = 1
export const SHORT_MS = 50

/** A core held by one invocation; `release` gives it to the next waiter and teaches the estimate. */
export interface RunPermit { release: (ranMs: number | null) => void }

interface Waiter {
  readonly fn: string
  readonly since: number
  readonly grant: (p: RunPermit) => void
  timer: TimerHandle | null
}

/**
 * The board's run queue: at most `slots` invocations run at once; the others wait in one FIFO
 * per function, and a freed core goes to the function whose oldest waiter has the highest
 * response ratio (see `responseRatio`) against the function's harmonic-mean run time here, i.e.
 * the waiter that would see the highest expected slowdown. A waiter whose deadline passes
 * leaves with WISP_TIMEOUT.
 *
 * Short lane: when every slot is held (typically by long runs, which a short waiter would
 * otherwise wait behind for a whole long run time), a function measured as short on this board
 * (`shortMs`), or not measured yet, may still start in one of `shortLane` extra places. The board
 * is oversubscribed by at most `shortLane` runs, of at most ~`shortMs` each once measured, so long
 * runs lose little, and a short function beside CPU hogs waits for no hog to finish.
 */
export class RunScheduler {
  private running = 0
  /** Runs started in the short lane (counted in `running` too). */
  private inLane = 0
  private readonly queues = new Map<string, Waiter[]>()
  private readonly estMs = new Map<string, number>()
  /** Per function, the moving average of 1 / run time: its reciprocal is the harmonic-mean run time. */
  private readonly invMs = new Map<string, number>()
  private waiting = 0
  /** Expected work (ms) of the running invocations, each counted at its function's estimate when it started. */
  private runningWork = 0

  constructor (private readonly o: RunSchedulerOptions) {}

  get runningCount (): number { return this.running }
  get waitingCount (): number { return this.waiting }
  /** The expected (mean) run time of fn here (ms): what the board reports as queued work. */
  expectedMs (fn: string): number { return this.estMs.get(fn) ?? this.o.defaultMs }
  /**
   * The harmonic-mean run time of fn here (ms), 1 / E[1 / run time]: a waiter's expected slowdown
   * if it started now is (waited + this) / this, so the queue is ordered by it (see responseRatio).
   */
  harmonicMs (fn: string): number { const v = this.invMs.get(fn); return v === undefined ? this.expectedMs(fn) : 1 / v }

  /** Resolves with a permit when the invocation may start; rejects with WISP_TIMEOUT if none comes within `withinMs`. */
  async acquire (fn: string, withinMs: number): Promise<RunPermit> {
    if (this.running - this.inLane < this.o.slots && this.waiting === 0) return this.permit(fn, false)
    if (this.laneFree() && this.isShort(fn)) return this.permit(fn, true)
    if (withinMs <= 0) throw timeout(fn)
    return await new Promise<RunPermit>((resolve, reject) => {
      const w: Waiter = { fn, since: this.o.clock.now(), grant: resolve, timer: null }
      w.timer = this.o.clock.setTimeout(() => { if (this.remove(w)) reject(timeout(fn)) }, withinMs)
      const q = this.queues.get(fn)
      if (q === undefined) this.queues.set(fn, [w]); else q.push(w)
      this.waiting++
    })
  }

  /**
   * What the board gossips for the balancer: expected work queued or running (ms), how many runs
   * it covers, and the queued part by class of expected run time (`workClass`).
   */
  work (): { workMs: number, runs: number, queuedByClass: number[] } {
    const byClass = new Array<number>(WORK_CLASSES).fill(0)
    let queued = 0
    for (const [fn, q] of this.queues) {
      const e = this.expectedMs(fn)
      const k = workClass(e)
      byClass[k] = (byClass[k] ?? 0) + e * q.length
      queued += e * q.length
    }
    return { workMs: this.runningWork + queued, runs: this.running + this.waiting, queuedByClass: byClass }
  }

  /** Whether fn may use the short lane: measured as short on this board, or not measured yet. */
  isShort (fn: string): boolean { return !this.invMs.has(fn) || this.harmonicMs(fn) <= (this.o.shortMs ?? SHORT_MS) }

  private laneFree (): boolean { return this.inLane < (this.o.shortLane ?? SHORT_LANE) }

  private permit (fn: string, lane: boolean): RunPermit {
    this.running++
    if (lane) this.inLane++
    const est = this.expectedMs(fn)
    this.runningWork += est
    let done = false
    return {
      release: (ranMs) => {
        if (done) return
        done = true
        this.running--
        if (lane) this.inLane--
        this.runningWork = this.running === 0 ? 0 : Math.max(0, this.runningWork - est)
        if (ranMs !== null && ranMs >= 0) {
          const a = this.o.alpha ?? 0.2
          const e = this.estMs.get(fn)
          this.estMs.set(fn, e === undefined ? ranMs : a * ranMs + (1 - a) * e)
          const inv = 1 / Math.max(ranMs, 0.01)
          const h = this.invMs.get(fn)
          this.invMs.set(fn, h === undefined ? inv : a * inv + (1 - a) * h)
        }
        this.next()
      }
    }
  }

  /** Starts waiters while cores are free, highest response ratio first; then short ones in the lane. */
  private next (): void {
    while (this.waiting > 0) {
      const slot = this.running - this.inLane < this.o.slots
      if (!slot && !this.laneFree()) return
      const best = this.best(slot ? () => true : (fn) => this.isShort(fn))
      if (best === undefined || !this.remove(best)) return
      best.grant(this.permit(best.fn, !slot))
    }
  }

  /** The head waiter with the highest response ratio among functions that pass `may`. */
  private best (may: (fn: string) => boolean): Waiter | undefined {
    const now = this.o.clock.now()
    let best: Waiter | undefined
    let bestRatio = -Infinity
    for (const q of this.queues.values()) {
      const head = q[0]
      if (head === undefined || !may(head.fn)) continue
      const r = responseRatio(now - head.since, this.harmonicMs(head.fn))
      if (r > bestRatio) { bestRatio = r; best = head }
    }
    return best
  }

  private remove (w: Waiter): boolean {
    const q = this.queues.get(w.fn)
    const i = q?.indexOf(w) ?? -1
    if (q === undefined || i < 0) return false
    q.splice(i, 1)
    if (q.length === 0) this.queues.delete(w.fn)
    this.waiting--
    if (w.timer !== null) this.o.clock.clearTimeout(w.timer)
    return true
  }
}

const timeout = (fn: string): WispError => new WispError('WISP_TIMEOUT', `${fn}: no core came free on this board before the deadline`)
