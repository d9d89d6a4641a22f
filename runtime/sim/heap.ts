/** A binary min-heap of events ordered by time, then by insertion order (so equal times are FIFO and runs are deterministic). */
export interface SimEvent { t: number, seq: number, kind: number, a: number, b: number, p: Inv | null }

/** One invocation in flight in the simulator. */
/**
 * `est`: the board's expected service time (ms) for it, fixed at enqueue (what the agent counts as
 * queued work); `start` and `finishV` (the board's virtual time at which its service is complete)
 * are set when it starts; `hm` is the function's harmonic-mean run time on the board at enqueue
 * (what its response ratio is measured against); `cpu` the share of a core it keeps busy while it runs.
 */
export interface Inv {
  fn: number, arrival: number, durRef: number, cold: boolean, est: number, start?: number, finishV?: number, hm?: number, lane?: boolean, cpu?: number
  /** A deferrable invocation's deadline (sim ms) and the latest it may start (green runs). */
  deadline?: number, latest?: number
}

export class EventHeap {
  private readonly h: SimEvent[] = []
  private seq = 0

  get size (): number { return this.h.length }

  push (t: number, kind: number, a = 0, b = 0, p: Inv | null = null): void {
    const e: SimEvent = { t, seq: this.seq++, kind, a, b, p }
    const h = this.h
    let i = h.length
    h.push(e)
    while (i > 0) {
      const p = (i - 1) >> 1
      const pe = h[p] as SimEvent
      if (pe.t < t || (pe.t === t && pe.seq < e.seq)) break
      h[i] = pe
      i = p
    }
    h[i] = e
  }

  pop (): SimEvent | undefined {
    const h = this.h
    const top = h[0]
    const last = h.pop()
    if (top === undefined || last === undefined || h.length === 0) return top
    let i = 0
    const n = h.length
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      let c = l
      const le = h[l] as SimEvent
      if (r < n) {
        const re = h[r] as SimEvent
        if (re.t < le.t || (re.t === le.t && re.seq < le.seq)) c = r
      }
      const ce = h[c] as SimEvent
      if (last.t < ce.t || (last.t === ce.t && last.seq < ce.seq)) break
      h[i] = ce
      i = c
    }
    h[i] = last
    return top
  }
}
