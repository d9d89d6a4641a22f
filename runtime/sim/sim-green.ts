import type { CarbonSignal } from '../leader/policies/carbon-signal.js'
import { meanIntensity } from '../leader/policies/carbon-signal.js'
import { GREEN_DEFAULTS, planStart, spareAwake, viewFor, type GreenParams } from '../leader/policies/green.js'
import { underCap } from '../leader/policies/power-cap.js'
import { EnergyLearner, priorEnergyMj, UNKNOWN_REF_MS } from '../leader/policies/learner.js'
import type { ClusterView } from '../leader/policies/types.js'
import { seededRng, type Rng } from '../shared/rng.js'
import type { Inv } from './heap.js'
import { LatencyHistogram } from './report.js'
import type { SimBoard } from './sim-board.js'

/** Carbon accounting and deferrable work in a simulation. */
export interface SimGreen {
  /** Grid intensity over simulated time (ms; 0 = the trace's first minute). */
  readonly signal: CarbonSignal
  /** Share of invocations that are deferrable (drawn per invocation from `seed`, the same draws whatever the policy). */
  readonly deferrableShare: number
  /** Deadline of a deferrable invocation after its arrival: uniform in [min, max] ms. */
  readonly deadlineMs: readonly [number, number]
  /** True: deferrable work waits for green windows (the shared policy); false: it runs at once (carbon-blind), measured the same way. */
  readonly aware: boolean
  readonly seed: number
  readonly params?: GreenParams
  /** Demand response: the cluster power cap (W) at a time, null = none (wrap the set's power policy with `withCap` on the same function). */
  readonly capW?: (now: number) => number | null
  /** Time (ms) after the cap is set or changed that is not judged (the power policy's first decision interval); default 0. */
  readonly capGraceMs?: number
  /** Deadlines end by this time (ms) when it is later than the shortest deadline: the day's work is due within the day. Absent = no bound. */
  readonly horizonMs?: number
}

/** One deferrable invocation as it ran: for deadlines and the oracle. `energyMj` = its marginal energy (busy-core power above idle × its run). */
export interface DeferrableRun { readonly arrival: number, readonly deadline: number, readonly start: number, readonly end: number, readonly serviceMs: number, readonly energyMj: number }

export interface SimGreenFigures {
  /** Carbon of all the cluster's energy (idle, boot and runs), at the intensity when it was used (g). */
  readonly carbon_g: number
  readonly energy_j: number
  readonly deferrable: number
  readonly deadlines_met: number
  /** p99 latency of the invocations that were not deferrable (ms). */
  readonly nondeferrable_p99_ms: number
  readonly runs: readonly DeferrableRun[]
  /** Minutes under a cap (past its grace), and those whose mean cluster power stayed within it. */
  readonly cap_minutes: number
  readonly cap_held_minutes: number
}

export class SimGreenSide {
  private readonly markRng: Rng
  private readonly planRng: Rng
  readonly learner = new EnergyLearner()
  private carbonG = 0
  private lastT = 0
  private readonly lastE: Float64Array
  private deferrable = 0
  private met = 0
  private readonly hist = new LatencyHistogram()
  private readonly runs: DeferrableRun[] = []
  private readonly params: GreenParams
  private capMinutes = 0
  private capHeld = 0
  private capNow: number | null = null
  private capSince = 0

  constructor (private readonly g: SimGreen, private readonly boards: readonly SimBoard[], private readonly canDefer: boolean) {
    this.markRng = seededRng(g.seed)
    this.planRng = seededRng(g.seed ^ 0x27d4eb2d)
    this.lastE = new Float64Array(boards.length)
    this.params = g.params ?? GREEN_DEFAULTS
  }

  /** An arrival: marks it deferrable (or not) and returns when it should be dispatched (now, unless the policy defers it). */
  arrive (inv: Inv, fn: string, now: number, refMs: number): number {
    if (this.markRng() >= this.g.deferrableShare) return now
    const [lo, hi] = this.g.deadlineMs
    const d = now + lo + this.markRng() * (hi - lo)
    inv.deadline = this.g.horizonMs === undefined ? d : Math.min(d, Math.max(this.g.horizonMs, now + lo))
    this.deferrable++
    if (!this.g.aware || !this.canDefer) return now
    const ref = refMs > 0 ? refMs : UNKNOWN_REF_MS
    let runMs = ref
    for (const b of this.boards) runMs = Math.max(runMs, this.learner.estimate(fn, b.profile, ref).runMs.mean)
    const plan = planStart({ now, deadlineAt: inv.deadline, runMs, signal: this.g.signal }, this.planRng, this.params)
    inv.latest = plan.latestStart
    return plan.startAt
  }

  /** Whether released deferred work may start now: an awake board has a free core, and the cluster is within its cap. */
  mayStart (view: ClusterView): boolean {
    return spareAwake(view) && underCap(view, this.g.capW?.(view.now) ?? null)
  }

  /** The view a deferrable invocation is routed on: boards that would miss its deadline left out (the shared rule). */
  routeView (view: ClusterView, fn: string, inv: Inv, refMs: number): ClusterView {
    return inv.deadline === undefined || !this.g.aware ? view : viewFor(view, fn, { deadlineMs: inv.deadline - view.now }, inv.deadline, this.learner, refMs > 0 ? refMs : UNKNOWN_REF_MS)
  }

  done (b: SimBoard, inv: Inv, fn: string, now: number, runMs: number, serviceMs: number, refMs: number): void {
    const energyMj = serviceMs * (b.profile.peak_w - b.profile.idle_w) / b.profile.cores
    this.learner.observe(fn, b.profile, runMs, priorEnergyMj(b.profile, runMs), refMs > 0 ? refMs : UNKNOWN_REF_MS)
    if (inv.deadline === undefined) { this.hist.add(now - inv.arrival); return }
    if (now <= inv.deadline) this.met++
    this.runs.push({ arrival: inv.arrival, deadline: inv.deadline, start: now - serviceMs, end: now, serviceMs, energyMj })
  }

  /** Adds the carbon of the energy the boards used since the last call (call with their energy accounted up to now). */
  integrate (now: number): void {
    if (now <= this.lastT) return
    const g = meanIntensity(this.g.signal, this.lastT, now)
    let joules = 0
    for (const b of this.boards) {
      b.account()
      const e = b.energy
      joules += e - (this.lastE[b.index] ?? 0)
      this.lastE[b.index] = e
    }
    this.carbonG += joules * g / 3.6e6
    const cap = this.g.capW?.(this.lastT) ?? null
    if (cap !== this.capNow) { this.capNow = cap; this.capSince = this.lastT }
    if (cap !== null && this.lastT >= this.capSince + (this.g.capGraceMs ?? 0)) {
      this.capMinutes += (now - this.lastT) / 60_000
      if (joules / ((now - this.lastT) / 1000) <= cap) this.capHeld += (now - this.lastT) / 60_000
    }
    this.lastT = now
  }

  /** A rejected deferrable invocation is never `met`: it counts as a missed deadline. */
  figures (): SimGreenFigures {
    return {
      carbon_g: this.carbonG,
      energy_j: this.boards.reduce((s, b) => s + b.energy, 0),
      deferrable: this.deferrable,
      deadlines_met: this.met,
      nondeferrable_p99_ms: this.hist.quantile(0.99),
      runs: this.runs,
      cap_minutes: this.capMinutes,
      cap_held_minutes: this.capHeld
    }
  }
}
