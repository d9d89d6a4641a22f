import type { BoardProfile } from '../../boards/schema.js'
import type { BoardState, OfflineState } from '../protocol/messages.js'
import { ManualClock } from '../shared/clock.js'
import { ClusterState, type StateOutcome } from '../leader/cluster-state.js'
import { DemandTracker, type DemandFn } from '../leader/demand.js'
import { DEFAULT_LEADER_OPTIONS } from '../leader/leader.js'
import type { ClusterView, PowerState } from '../leader/policies/types.js'

/**
 * The leader's side of the simulator, kept with the live leader's own parts: the cluster state
 * its gossip handler feeds (`ClusterState`), the demand its invokes and receipts feed
 * (`DemandTracker`), and the in-flight count per function. The policies read only its views,
 * composed as `Leader.dispatchView` and `Leader.policyView` compose them, so a simulated policy
 * sees what the live leader could observe, built by the same code.
 */
export class SimLeader {
  readonly cluster: ClusterState
  private readonly clock = new ManualClock(0)
  private readonly demand = new DemandTracker()
  /** In-flight invocations per function, cluster-wide (queued at the leader, sent or running): `InflightTable.byFn`. */
  private readonly inflightByFn = new Map<string, number>()

  constructor (
    /** The deployed functions, as the registry lists them. */
    private readonly fns: readonly DemandFn[],
    profiles: ReadonlyMap<string, BoardProfile>,
    private readonly queueLimit: number = DEFAULT_LEADER_OPTIONS.queueLimit,
    staleMs: number = DEFAULT_LEADER_OPTIONS.staleMs
  ) {
    this.cluster = new ClusterState(this.clock, profiles, staleMs, () => this.clock.now())
  }

  /** Moves the leader's clock to `now` (ms; never back). */
  at (now: number): void { if (now > this.clock.now()) this.clock.advance(now - this.clock.now()) }

  /** A board's gossip, or its Last Will (`readState`'s typed output). */
  onState (msg: BoardState | OfflineState): StateOutcome { return this.cluster.onState(msg) }

  /** An invoke of fn came in. */
  arrive (fn: string): void { this.demand.arrive(fn) }

  /** An invocation of fn is tracked (+1) or answered or dropped (−1). */
  track (fn: string, delta: 1 | -1): void { this.inflightByFn.set(fn, (this.inflightByFn.get(fn) ?? 0) + delta) }

  /** The leader sent a run of fn to board. */
  dispatched (board: string, fn: string): void { this.cluster.addInflight(board, fn, 1) }

  /**
   * Board answered a run of fn with a receipt saying it ran `runMs`, spent `extraMs` beyond its
   * queue and run (a cold start) and whether it was cold (`Leader.release` and `Leader.finish`).
   */
  done (board: string, fn: string, runMs: number, extraMs?: number, cold?: boolean): void {
    this.cluster.addInflight(board, fn, -1)
    this.demand.complete(fn, runMs, this.cluster.get(board)?.profile.speed ?? 1, extraMs, cold)
    this.cluster.complete(board, fn, runMs)
  }

  /** The power controller's record of a board's power. */
  setPower (board: string, p: PowerState): void { this.cluster.setPower(board, p) }

  /** fn's mean service time at reference speed, as the leader has measured it (0 = not yet). */
  serviceMsOf (fn: string): number { return this.demand.serviceMsOf(fn) }

  /** `Leader.dispatchView`: what the balancer routes one invocation of fn on. */
  dispatchView (fn: DemandFn): ClusterView {
    return this.cluster.transientView(this.demand.current(fn, this.inflightByFn, () => this.fns))
  }

  /** `Leader.policyView`: what the scale, place and power policies read; `consume` starts a new arrivals window. */
  policyView (consume = false): ClusterView {
    return { ...this.cluster.view(), fns: this.demand.view(this.fns, this.inflightByFn, consume, this.queueLimit) }
  }
}
