import type { Clock, TimerHandle } from '../shared/clock.js'
import { WispError } from '../shared/errors.js'
import { DEFAULT_ALPHA, learnInvMs, learnMeanMs } from '../board-model/estimate.js'
import { RunQueue } from '../board-model/run-queue.js'
import { isMeasuredLong, isShortRun, SHORT_LANE, SHORT_MS } from '../board-model/short-lane.js'
import { addQueuedWork, WORK_CLASSES } from '../board-model/work.js'

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
   * yet measured here counts as short while none of its runs is running here, so its first run on
   * a board (a light function's too) does not wait behind long ones; a long one then holds the
   * lane for one run of its own at most and is known from then on.
   */
  readonly shortMs?: number
}

export { SHORT_LANE, SHORT_MS } from '../board-model/short-lane.js'

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
 * leaves with WISP_TIMEOUT. The queue and estimates are the board model's (`RunQueue`), the one
 * the simulator's boards run too; this wraps it in promises, permits and deadlines.
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
  private readonly queue: RunQueue<string, Waiter>
  private readonly estMs = new Map<string, number>()
  /** Per function, the moving average of 1 / run time: its reciprocal is the harmonic-mean run time. */
  private readonly invMs = new Map<string, number>()
  /** Expected work (ms) of the running invocations, each counted at its function's estimate when it started. */
  private runningWork = 0
  /** Runs running now, by function. */
  private readonly runningOf = new Map<string, number>()

  constructor (private readonly o: RunSchedulerOptions) {
    this.queue = new RunQueue<string, Waiter>({ since: (w) => w.since, harmonicMs: (w) => this.harmonicMs(w.fn) })
  }

  get runningCount (): number { return this.running }
  get waitingCount (): number { return this.queue.size }
  /** The expected (mean) run time of fn here (ms): what the board reports as queued work. */
  expectedMs (fn: string): number { return this.estMs.get(fn) ?? this.o.defaultMs }
  /**
   * The harmonic-mean run time of fn here (ms), 1 / E[1 / run time]: a waiter's expected slowdown
   * if it started now is (waited + this) / this, so the queue is ordered by it (see responseRatio).
   */
  harmonicMs (fn: string): number { const v = this.invMs.get(fn); return v === undefined ? this.expectedMs(fn) : 1 / v }

  /** Resolves with a permit when the invocation may start; rejects with WISP_TIMEOUT if none comes within `withinMs`. */
  async acquire (fn: string, withinMs: number): Promise<RunPermit> {
    if (this.running - this.inLane < this.o.slots && this.queue.size === 0) return this.permit(fn, false)
    if (this.laneFree() && this.isShort(fn)) return this.permit(fn, true)
    if (withinMs <= 0) throw timeout(fn)
    return await new Promise<RunPermit>((resolve, reject) => {
      const w: Waiter = { fn, since: this.o.clock.now(), grant: resolve, timer: null }
      w.timer = this.o.clock.setTimeout(() => { if (this.queue.remove(fn, w)) reject(timeout(fn)) }, withinMs)
      this.queue.push(fn, w)
    })
  }

  /**
   * What the board gossips for the balancer: expected work queued or running (ms), how many runs
   * it covers, and the queued part by class of expected run time (`workClass`).
   */
  work (): { workMs: number, runs: number, queuedByClass: number[] } {
    const byClass = new Array<number>(WORK_CLASSES).fill(0)
    let queued = 0
    for (const [fn, n] of this.queue.lengths()) {
      const e = this.expectedMs(fn)
      addQueuedWork(byClass, e, n)
      queued += e * n
    }
    return { workMs: this.runningWork + queued, runs: this.running + this.queue.size, queuedByClass: byClass }
  }

  /** Whether fn may use the short lane: measured as short on this board, or not measured yet and none of its runs running (`isShortRun`). */
  isShort (fn: string): boolean { return isShortRun(this.invMs.get(fn), this.o.shortMs ?? SHORT_MS, this.runningOf.get(fn) ?? 0) }

  /** Whether fn is measured as long on this board (`isMeasuredLong`): the board's low-priority isolate host takes it. */
  isLong (fn: string): boolean { return isMeasuredLong(this.invMs.get(fn), this.o.shortMs ?? SHORT_MS) }

  private laneFree (): boolean { return this.inLane < (this.o.shortLane ?? SHORT_LANE) }

  private permit (fn: string, lane: boolean): RunPermit {
    this.running++
    this.runningOf.set(fn, (this.runningOf.get(fn) ?? 0) + 1)
    if (lane) this.inLane++
    const est = this.expectedMs(fn)
    this.runningWork += est
    let done = false
    return {
      release: (ranMs) => {
        if (done) return
        done = true
        this.running--
        const n = (this.runningOf.get(fn) ?? 1) - 1
        if (n > 0) this.runningOf.set(fn, n)
        else this.runningOf.delete(fn)
        if (lane) this.inLane--
        this.runningWork = this.running === 0 ? 0 : Math.max(0, this.runningWork - est)
        if (ranMs !== null && ranMs >= 0) {
          const a = this.o.alpha ?? DEFAULT_ALPHA
          this.estMs.set(fn, learnMeanMs(this.estMs.get(fn), ranMs, a))
          this.invMs.set(fn, learnInvMs(this.invMs.get(fn), ranMs, a))
        }
        this.next()
      }
    }
  }

  /** Starts waiters while cores are free, highest response ratio first; then short ones in the lane. */
  private next (): void {
    const start = (lane: boolean) => (w: Waiter): boolean => {
      if (w.timer !== null) this.o.clock.clearTimeout(w.timer)
      w.grant(this.permit(w.fn, lane))
      return true
    }
    const now = this.o.clock.now()
    this.queue.drain(now, { room: () => this.running - this.inLane < this.o.slots, canStart: () => true, start: start(false) })
    this.queue.drain(now, { room: () => this.laneFree(), canStart: (fn) => this.isShort(fn), start: start(true) })
  }
}

const timeout = (fn: string): WispError => new WispError('WISP_TIMEOUT', `${fn}: no core came free on this board before the deadline`)
