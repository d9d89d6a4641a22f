/** Time is injected everywhere so that policies, the simulator and tests are deterministic. */
export interface Clock {
  /** Milliseconds since an arbitrary epoch; monotonic. */
  now: () => number
  setTimeout: (fn: () => void, ms: number) => TimerHandle
  clearTimeout: (h: TimerHandle) => void
}

export interface TimerHandle { readonly id: number }

export const systemClock: Clock = (() => {
  const live = new Map<number, NodeJS.Timeout>()
  let next = 1
  return {
    now: () => performance.timeOrigin + performance.now(),
    setTimeout: (fn, ms) => {
      const id = next++
      const t = setTimeout(() => { live.delete(id); fn() }, ms)
      t.unref?.()
      live.set(id, t)
      return { id }
    },
    clearTimeout: (h) => {
      const t = live.get(h.id)
      if (t !== undefined) { clearTimeout(t); live.delete(h.id) }
    }
  }
})()

/** A clock that only moves when told to; timers fire in time order on advance(). */
export class ManualClock implements Clock {
  private t: number
  private next = 1
  private readonly timers = new Map<number, { at: number, fn: () => void }>()

  constructor (start = 0) { this.t = start }

  now = (): number => this.t

  setTimeout = (fn: () => void, ms: number): TimerHandle => {
    const id = this.next++
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn })
    return { id }
  }

  clearTimeout = (h: TimerHandle): void => { this.timers.delete(h.id) }

  /** When the timers not yet fired are due, earliest first (a test can await a timer being set). */
  dueTimes (): number[] { return [...this.timers.values()].map((tm) => tm.at).sort((a, b) => a - b) }

  /** Moves time forward by ms, firing due timers in order (bounded by the timers present). */
  advance (ms: number): void {
    const end = this.t + ms
    for (let guard = 0; guard < 1_000_000; guard++) if (!this.fireNext(end)) break
    this.t = end
  }

  /** Fires the earliest timer due by `end` (ties in creation order); false when there is none. */
  private fireNext (end: number): boolean {
    let dueId = -1
    let dueAt = Infinity
    for (const [id, tm] of this.timers) {
      if (tm.at <= end && (tm.at < dueAt || (tm.at === dueAt && id < dueId))) { dueAt = tm.at; dueId = id }
    }
    const tm = this.timers.get(dueId)
    if (tm === undefined) return false
    this.timers.delete(dueId)
    this.t = Math.max(this.t, dueAt)
    tm.fn()
    return true
  }

  /**
   * Like advance(), but lets the process run after each timer (promise continuations, I/O that
   * has arrived) and then awaits `settle` (what the caller knows must happen before time moves
   * on, e.g. a message sent must be heard), so async chains move on as they would in real time.
   * Returns early, at the time of the timer after which `stop` holds.
   */
  async run (ms: number, o: { settle?: () => Promise<void>, stop?: () => boolean } = {}): Promise<void> {
    const end = this.t + ms
    for (let guard = 0; guard < 1_000_000; guard++) {
      await new Promise((resolve) => setImmediate(resolve))
      await o.settle?.()
      if (o.stop?.() === true) return
      if (!this.fireNext(end)) break
    }
    this.t = end
  }
}

/**
 * Calls fn every `ms` on the clock, at fixed times (start + k·ms; after a stall the missed calls
 * are skipped, not fired in a burst). Returns the function that stops it.
 */
export const every = (clock: Clock, ms: number, fn: () => void): (() => void) => {
  let stopped = false
  let next = clock.now() + ms
  let h: TimerHandle
  const tick = (): void => {
    const now = clock.now()
    next += ms
    if (next <= now) next = now + ms
    h = clock.setTimeout(tick, next - now)
    fn()
  }
  h = clock.setTimeout(tick, ms)
  return () => { if (!stopped) { stopped = true; clock.clearTimeout(h) } }
}
