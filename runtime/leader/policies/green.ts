import type { BoardView, ClusterView } from './types.js'
import type { Rng } from '../../shared/rng.js'
import { WispError } from '../../shared/errors.js'
import { intensityAt, windows, type CarbonSignal } from './carbon-signal.js'
import type { EnergyLearner } from './learner.js'
import { outstanding, workPerRun } from './candidates.js'

/** What an invoke may ask of its placement (the invoke envelope's options). */
export interface InvokeOptions {
  /** The reply is wanted within this many ms of arrival. */
  readonly deadlineMs?: number
  /** The run may wait for a lower-carbon window (within its deadline). */
  readonly deferrable?: boolean
  /** Most energy (mJ) the run may take: boards whose learned energy for the function exceeds it are ruled out. */
  readonly budgetMj?: number
  /** The leader may run one of the function's cheaper `variants` instead (under high carbon or a tight cap). */
  readonly acceptVariants?: boolean
}

export const GREEN_DEFAULTS = Object.freeze({
  /**
   * A window within this fraction of the least intensity before the latest start counts as "as
   * green". Tuned on the evaluation's tuning days only (test/bench/green.ts --tuning), judged by
   * the deferred runs' own saving against the oracle's, days 1-3: 0.3 (the earlier choice, from
   * the whole-cluster saving) 0.66, running at once the morning's and evening's work that was
   * within 30 % of a greener hour; 0.15 0.72; 0.1 0.76 (0.73, 0.74, 0.81 per day), every deadline
   * met, non-deferrable p99 at most 1.025× the carbon-blind day's, the cap held (day 1). 0.05 once
   * crowded the greenest two hours (p99 of the rest +15 %); so did keeping only windows with half
   * the possible saving (day 1: evening work piled into 22:00-24:00, 2 % of deadlines missed, p99 1.25×).
   */
  tolerance: 0.1,
  /** Expected run time × this, plus `slackMs`, is kept free before the deadline. */
  runSafety: 2,
  slackMs: 30_000,
  /**
   * A start drawn in a green window is at least run time × `runSafety` + this before the window
   * ends, so the leader's release (its 250 ms tick), the run and its receipt land in the window: a
   * start drawn in a window's last instants once ran, and was priced, after it had closed.
   */
  windowEndMs: 1000
})
export type GreenParams = typeof GREEN_DEFAULTS

/**
 * When a deferrable invocation should start: now if the intensity now is within `tolerance` of
 * the least forecast before its latest start (deadline − safety × run time − slack); else a time
 * drawn (seeded, uniform in time) from the windows that are, so deferred work spreads over a green
 * window instead of arriving at its first instant, and early enough to finish in it (windows too
 * short for that: the start of the last). Never later than the latest start.
 */
export const planStart = (
  a: { now: number, deadlineAt: number, runMs: number, signal: CarbonSignal },
  rng: Rng, p: GreenParams = GREEN_DEFAULTS
): { startAt: number, latestStart: number, gNow: number, gAt: number } => {
  const latestStart = Math.max(a.now, a.deadlineAt - p.runSafety * a.runMs - p.slackMs)
  const gNow = intensityAt(a.signal, a.now)
  const ws = windows(a.signal, a.now, latestStart)
  let least = gNow
  for (const w of ws) least = Math.min(least, w.g)
  const bar = least * (1 + p.tolerance)
  if (gNow <= bar || latestStart <= a.now) return { startAt: a.now, latestStart, gNow, gAt: gNow }
  const green = ws.filter((w) => w.g <= bar)
  // The part of each window a run can start in and still finish in it (none of a window too short for that).
  const room = (w: { start: number, end: number }): number => Math.max(0, w.end - w.start - p.runSafety * a.runMs - p.windowEndMs)
  const total = green.reduce((s, w) => s + room(w), 0)
  let x = rng() * total
  for (const w of green) {
    const len = room(w)
    if (len > 0 && x <= len) return { startAt: Math.min(latestStart, w.start + x), latestStart, gNow, gAt: w.g }
    x -= len
  }
  const last = green[green.length - 1]
  return { startAt: last?.start ?? a.now, latestStart, gNow, gAt: last?.g ?? gNow }
}

/** Expected time (ms) until a new run of `fn` on b would be done: the work ahead of it spread over its cores, plus its own learned run time + 2σ. */
export const expectedFinishMs = (b: BoardView, fn: string, learner: EnergyLearner, refMs: number): number => {
  const e = learner.estimate(fn, b.profile, refMs)
  const n = outstanding(b)
  const ahead = n * workPerRun(b, n, e.runMs.mean) / b.profile.cores
  return ahead + e.runMs.mean + 2 * Math.sqrt(e.runMs.variance)
}

/**
 * The view an invocation with options may be routed on: boards whose learned energy for `fn`
 * exceeds the budget are removed (none left of any board → WISP_OVER_BUDGET); with a deadline,
 * boards that would not finish it in time are removed too, unless that leaves no routable board
 * (then the deadline is best effort: the fastest finish among all is still the balancer's to find).
 */
export const viewFor = (view: ClusterView, fn: string, o: InvokeOptions, deadlineAt: number | null, learner: EnergyLearner, refMs: number): ClusterView => {
  let boards = view.boards
  if (o.budgetMj !== undefined) {
    const budget = o.budgetMj
    const known = boards.filter((b) => b.power !== 'offline')
    boards = known.filter((b) => learner.estimate(fn, b.profile, refMs).energyMj.mean <= budget)
    if (boards.length === 0) {
      const best = Math.min(...known.map((b) => learner.estimate(fn, b.profile, refMs).energyMj.mean))
      throw new WispError('WISP_OVER_BUDGET', `no board runs "${fn}" within ${budget} mJ` + (Number.isFinite(best) ? ` (the least learned is ${Math.round(best)} mJ)` : ' (no board is known)'))
    }
  }
  if (deadlineAt !== null) {
    const left = deadlineAt - view.now
    const fit = boards.filter((b) => expectedFinishMs(b, fn, learner, refMs) <= left)
    if (fit.some((b) => b.routable)) boards = fit
  }
  return boards === view.boards ? view : { ...view, boards, holders: undefined }
}

/**
 * Whether deferred work may start now without waking a board or queueing behind other work: some
 * routable (awake) board has a free core. Until its latest start, a deferred invocation released
 * by its window waits for one; at its latest start it goes regardless.
 */
export const spareAwake = (view: ClusterView): boolean => {
  for (const b of view.boards) if (b.routable && outstanding(b) < b.profile.cores) return true
  return false
}
