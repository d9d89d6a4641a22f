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

  /** Moves time forward by ms, firing due timers in order (bounded by the timers present). */
  advance (ms: number): void {
    const end = this.t + ms
    for (let guard = 0; guard < 1_000_000; guard++) {
      let dueId = -1
      let dueAt = Infinity
      for (const [id, tm] of this.timers) {
        if (tm.at <= end && (tm.at < dueAt || (tm.at === dueAt && id < dueId))) { dueAt = tm.at; dueId = id }
      }
      if (dueId < 0) break
      const tm = this.timers.get(dueId)
      this.timers.delete(dueId)
      this.t = Math.max(this.t, dueAt)
      tm?.fn()
    }
    this.t = end
  }

}
