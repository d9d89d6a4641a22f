import type { BalancePolicy, BoardView, ClusterView, Decision } from './types.js'
import type { Rng } from '../../shared/rng.js'
import { outstanding, workPerRun } from './candidates.js'
import { workClass } from '../../shared/response-ratio.js'
import { isMeasuredLong, SHORT_LANE, SHORT_MS } from '../../board-model/short-lane.js'

export interface MuBalanceOptions {
  /** Gossip older than this is not trusted: queue and rates fall back to the leader's count and the profile. */
  readonly staleMs: number
  /** Service time (ms, reference speed) assumed for a function never measured. */
  readonly defaultServiceMs: number
  /** Cold-start cost (ms, reference speed) when the function gives none. */
  readonly defaultColdMs: number
  /** Up to this many boards every routable board is scored; above it, the warm holders plus `sample` random others. */
  readonly fullScanBelow: number
  readonly sample: number
  /**
   * Isolation of bursts: a function with in-flight invocations (cluster-wide) of at least this
   * share of the routable cores queues behind its own work — on the best board where it already
   * has some queued or running — so one function's burst does not fill every board's FIFO queue
   * in front of everyone else's short invocations (each function's fair share of service rate).
   * 0 = off.
   */
  readonly isolateShare: number
  /**
   * The boards' short lane (board-model/short-lane.ts): extra places beyond the run slots where a
   * function whose run time is at most SHORT_MS starts at once. 0 = the boards have none.
   */
  readonly shortLane: number
}

export const MU_BALANCE_DEFAULTS: MuBalanceOptions = { staleMs: 5000, defaultServiceMs: 100, defaultColdMs: 50, fullScanBelow: 64, sample: 2, isolateShare: 0, shortLane: SHORT_LANE }

/**
 * Runs on b that may hold its short lane: the queued or running runs (gossiped, or the leader's
 * in-flight count when larger) of every function not measured there as long (a function of
 * unknown run time may be in the lane). The leader does not know which runs the lane holds, so
 * it counts every one that could be there.
 */
const mayHoldLane = (b: BoardView): number => {
  let n = 0
  for (const name in b.functions) {
    const g = b.functions[name]
    if (g === undefined) continue
    const runs = g.running + g.queueLen
    if (runs > 0 && !isMeasuredLong(g.serviceMs !== undefined && g.serviceMs > 0 ? 1 / g.serviceMs : undefined, SHORT_MS)) n += runs
  }
  return n
}

/**
 * Mu's load balancer: send the invocation to the board with the least expected completion
 * time. For board b with c cores, q outstanding invocations and mean service time t̄:
 *   ECT = max(0, q + 1 − c) · t̄ / c   (wait for a core, in arrival order)
 *       + t_f                         (the function's own service time on b)
 *       + cold                        (cold start, when no warm runtime slot is free)
 * t̄ is the mean expected size of the work ahead (gossiped `workMs` ÷ q) when known. When the board
 * also reports its queued work by class of run time (`queuedByClass`), the wait is at least
 *   running work ÷ c(c+1) + queued work of classes ≤ t_f's ÷ c
 * as the board serves the highest response ratio first (short runs overtake long ones), and about
 *   max(0, q + 1 − c) · t_f / c
 * under load: the board evens out the slowdowns of what it queues, so by Little's law every queued
 * run starts at one response ratio R with R − 1 ≈ queued runs ÷ c, and a run of t_f waits (R − 1) · t_f
 * (the larger of the two, never more than the wait in arrival order). Where the board's short lane
 * would start the run at once (board-model/short-lane.ts: t_f ≤ SHORT_MS, a free warm runtime of
 * it there, fresh gossip, and fewer runs that may hold the lane, i.e. queued or running runs of any
 * function not measured there as long, its own included, than the lane has places), the wait is
 * only t_f: the run shares the c cores with the c runs holding the slots, each of the c + 1 slowed
 * by about t_f / c. Boards whose
 * queue of the function is at its bound are skipped (spill-over instead of WISP_OVERLOADED).
 * t_f is measured per function and board (gossip), or the function's reference time / profile
 * speed when unmeasured or stale, so a board 4× faster looks 4× faster before any data.
 */
export const createMuBalance = (opts: Partial<MuBalanceOptions> = {}): BalancePolicy => {
  const o = { ...MU_BALANCE_DEFAULTS, ...opts }
  const ect = (view: ClusterView, b: BoardView, fn: string, refMs: number, coldRefMs: number, slots: number): number => {
    const fresh = view.now - b.lastSeenMs <= o.staleMs
    const fv = b.functions[fn]
    const speed = b.profile.speed
    const cores = b.profile.cores
    const tf = fresh && fv?.serviceMs !== undefined && fv.serviceMs > 0 ? fv.serviceMs : refMs / speed
    const q = fresh ? outstanding(b) : b.inflight
    // Mean size of what is ahead: the gossiped expected work when there is one (a few long
    // invocations ahead cost more than many short ones), else the board's mean service time.
    const tAvg = fresh ? workPerRun(b, q, tf) : tf
    let wait = Math.max(0, q + 1 - cores) * tAvg / cores
    const byClass = b.queuedByClass
    if (wait > 0 && fresh && byClass !== undefined && b.workMs !== undefined) {
      // The board serves the highest response ratio first: a new run waits at least for a core to
      // come free (≈ the running work ÷ c(c+1), the first of c runs to end) and for the queued work
      // no longer than its own, not for everything ahead of it; and as the board evens out the
      // slowdowns of its queue, about as long as if every run queued were its own size (`level`:
      // with all of them starting at one response ratio R, Little's law gives R − 1 ≈ queued ÷ c).
      // The lower bound alone sent short runs to a loaded fast board whose long runs had aged past them.
      let queued = 0
      let ahead = 0
      const mine = workClass(tf)
      for (let k = 0; k < byClass.length; k++) { const w = byClass[k] ?? 0; queued += w; if (k <= mine) ahead += w }
      const running = Math.max(0, b.workMs - queued)
      // Runs the leader sent after the board's last report: of unknown class, so ahead of this one.
      const unreported = Math.max(0, q - (b.workRuns ?? q)) * tAvg
      const lower = running / (cores * (cores + 1)) + (ahead + unreported) / cores
      const level = Math.max(0, q + 1 - cores) * tf / cores
      wait = Math.min(wait, Math.max(lower, level))
    }
    const runtimes = fv?.runtimes ?? 0
    const busy = (fv?.running ?? 0) + (fv?.queueLen ?? 0)
    const warmFree = runtimes > 0 && (slots === 0 || runtimes * slots > busy)
    const cold = warmFree || runtimes >= cores ? 0 : coldRefMs / speed
    // The short lane: with every slot held, the board still starts a short run at once if the lane
    // has room. Only when nothing that may hold the lane is in flight there (the leader cannot
    // see which runs hold it), and with a warm runtime free (else the run waits for one).
    // It then shares the c cores with the c runs holding the slots (c + 1 runs on c cores): it runs
    // about t_f / c longer and slows each of them by as much, t_f in all; that is charged, so a
    // board with a core free, or a cold start cheaper than t_f, wins over the lane.
    if (wait > 0 && fresh && warmFree && o.shortLane > 0 && !isMeasuredLong(1 / tf, SHORT_MS) && mayHoldLane(b) < o.shortLane) wait = tf
    return wait + tf + cold
  }
  // The state of one pick, kept at the factory so the candidate test is one function, not a
  // closure per invocation (pick is synchronous and never re-entered).
  let view: ClusterView = { now: 0, boards: [] }
  let fn = ''
  let refMs = 0
  let coldRefMs = 0
  let slots = 1
  let scores: Record<string, number> = {}
  let best: string[] = []
  let bestScore = Infinity
  let isolate = false
  let cores = 0
  let seen = 0
  let own: string[] = []
  let ownScore = Infinity
  const consider = (b: BoardView | undefined): void => {
    if (b === undefined || !b.routable || scores[b.id] !== undefined) return
    // Spill over: a board whose queue of fn is full would answer WISP_OVERLOADED; the next best takes it.
    if ((b.functions[fn]?.queueLen ?? 0) >= (b.queueLimit ?? Infinity)) return
    const s = ect(view, b, fn, refMs, coldRefMs, slots)
    scores[b.id] = s
    if (s < bestScore) { bestScore = s; best = [b.id] } else if (s === bestScore) best.push(b.id)
    if (isolate) {
      const fv = b.functions[fn]
      cores += b.profile.cores
      seen++
      if (fv !== undefined && fv.running + fv.queueLen > 0) {
        if (s < ownScore) { ownScore = s; own = [b.id] } else if (s === ownScore) own.push(b.id)
      }
    }
  }
  return {
    name: 'mu',
    pick (v: ClusterView, f: string, rng: Rng): Decision {
      view = v
      fn = f
      const d = view.fns?.[fn]
      refMs = d !== undefined && d.serviceMs > 0 ? d.serviceMs : o.defaultServiceMs
      coldRefMs = d?.coldMs ?? o.defaultColdMs
      slots = d?.concurrency ?? 1
      // A dictionary from the start: a plain {} keyed by ever different board ids grows V8's
      // hidden-class transitions without bound (≈ 10 µs a pick on 1,000 boards), and with no
      // prototype a board named "constructor" is not taken for one already scored.
      scores = Object.create(null) as Record<string, number>
      best = []
      bestScore = Infinity
      isolate = o.isolateShare > 0 && (d?.inflight ?? 0) > 0
      cores = 0
      seen = 0
      own = []
      ownScore = Infinity
      const n = view.boards.length
      if (n <= o.fullScanBelow) {
        for (const b of view.boards) consider(b)
      } else {
        // The holders index lists every board warm for fn; a function in no entry is warm nowhere
        // (no pass over every board for it). Without an index, the boards are searched.
        const holders = view.holders
        if (holders !== undefined) { const idx = holders[fn]; if (idx !== undefined) for (const i of idx) consider(view.boards[i]) }
        else for (const b of view.boards) if ((b.functions[fn]?.runtimes ?? 0) > 0) consider(b)
        // A few random others, so a cold but idle board can win over loaded warm ones.
        for (let k = 0, tries = 0; k < o.sample && tries < 4 * o.sample; tries++) {
          const b = view.boards[Math.floor(rng() * n)]
          if (b !== undefined && b.routable && scores[b.id] === undefined) { consider(b); k++ }
        }
        if (best.length === 0) for (const b of view.boards) consider(b)
      }
      // Routable cores: counted on a full scan, extrapolated from the sample on a large cluster.
      const isolated = isolate && own.length > 0 && (d?.inflight ?? 0) >= o.isolateShare * cores * Math.max(1, n / Math.max(1, seen))
      if (isolated) best = own
      const choice = best.length === 0 ? null : best.length === 1 ? best[0] ?? null : best[Math.floor(rng() * best.length)] ?? null
      return { kind: 'balance', policy: 'mu', at: view.now, fn, choice, scores, inputs: { ref_service_ms: refMs, cold_ms: coldRefMs }, reason: choice === null ? 'no routable board' : isolated ? 'burst beyond its share: behind its own work, least expected completion time (ms)' : 'least expected completion time (ms)' }
    }
  }
}

export const muBalance = createMuBalance()
