import type { BoardProfile } from '../../../boards/schema.js'
import type { Rng } from '../../shared/rng.js'

/**
 * The leader's view of the cluster as the policies see it. The live leader builds it from
 * gossip; the simulator feeds the same builder (`ClusterState`) its simulated boards' gossip. Policies never read clocks or
 * Math.random: time is `view.now`, randomness the injected Rng.
 */
/**
 * How a board orders the invocations waiting for a core: `ratio` = one queue per function,
 * highest response ratio first (the wisp agent's run scheduler); `fifo` = one queue in arrival
 * order (the old baseline's model of a node); `ps` = no board-wide queue: every invocation sent
 * runs at once on its runtime and the runtimes share the cores (the kernel's processor sharing,
 * as Knative pods share a node), waiting only for a runtime (queue-proxy, per function).
 */
export type QueueDiscipline = 'ratio' | 'fifo' | 'ps'

export type PowerState = 'on' | 'booting' | 'draining' | 'shutting-down' | 'gated' | 'offline'

export interface FnView {
  /** Invocations of the function queued on the board (gossiped, plus the leader's own in-flight count since). */
  readonly queueLen: number
  /** Completions per second of the function on this board (gossiped; decaying over at least 10 s, see agent/service-rate.ts). 0 = not measured yet. */
  readonly serviceRate: number
  readonly running: number
  /** Warm runtimes of the function on the board. */
  readonly runtimes: number
  /** Mean service time (ms) of one invocation of the function on this board (EWMA); 0 or absent = not measured. */
  readonly serviceMs?: number
}

export interface BoardView {
  readonly id: string
  readonly profile: BoardProfile
  readonly power: PowerState
  /** True when the board may take new invocations (on, gossip fresh, not draining, no run overdue without progress since). */
  readonly routable: boolean
  /** Leader clock time since when a run sent there is overdue and the board has shown no progress (not routable meanwhile); absent = none. */
  readonly overdueSinceMs?: number
  /** Total queue length on the board (all functions). */
  readonly queueLen: number
  /** Invocations the leader sent and has not seen done (exact). */
  readonly inflight: number
  readonly serviceRate: number
  readonly functions: Readonly<Record<string, FnView>>
  /** The board's power (W): its gossiped reading, or the profile's model when `powerUnknown`. */
  readonly powerW: number
  /** True while the board's power sensor keeps failing: `powerW` is then modelled, not measured. */
  readonly powerUnknown?: true
  /** Leader clock time of the last gossip. */
  readonly lastSeenMs: number
  /** Leader clock time since when the board has had nothing in flight (null = busy). */
  readonly idleSinceMs: number | null
  /** Mean service time (ms) of invocations on the board, all functions (EWMA); 0 or absent = not measured. */
  readonly meanServiceMs?: number
  /**
   * Expected work (ms at this board's speed) of the invocations queued or running on the board: Σ
   * of each one's function's measured service time. Absent = estimated as outstanding × meanServiceMs.
   */
  readonly workMs?: number
  /**
   * Expected work (ms at this board's speed) waiting for a core, by class of expected run time
   * (`workClass`: class k holds runs of [2^k, 2^(k+1)) ms). The board serves the highest response
   * ratio first, so a new run waits only for the queued work no longer than its own (and, in
   * time, for long runs that have aged past it). Absent = unknown (the FIFO estimate is used).
   */
  readonly queuedByClass?: ArrayLike<number>
  /**
   * How many invocations `workMs` and `queuedByClass` cover. The leader's own in-flight count
   * beyond it (sent since the board last reported) is work of unknown class, assumed ahead of a
   * new run. Absent = all of `inflight`.
   */
  readonly workRuns?: number
  /** Warm runtimes on the board, all functions (Σ functions[].runtimes, kept as they change); absent = computed by a scan. */
  readonly runtimeCount?: number
  /** The board's per-function queue bound (its agent's `queue_limit`, gossiped; past it WISP_OVERLOADED); absent = unknown. */
  readonly queueLimit?: number
}

/** What the leader knows of one function cluster-wide (the scale, place and power policies read it). */
export interface FnDemand {
  /** Invocations that arrived since the previous scale tick (the leader counts invokes). */
  readonly arrivals: number
  /** Invocations in flight cluster-wide now (queued or running). */
  readonly inflight: number
  /** Mean service time (ms) at reference speed (speed 1); 0 = unknown. */
  readonly serviceMs: number
  /** Invocations one runtime may co-execute (manifest `concurrency`; 0 = unlimited). */
  readonly concurrency: number
  readonly memoryMb: number
  /**
   * Cold-start cost (ms) at reference speed, learned from receipts (`DemandTracker.complete`: a
   * cold run's `total_ms − queue_ms − run_ms` less a warm run's, × the board's speed); absent = no
   * cold receipt of the function yet (the policy's default).
   */
  readonly coldMs?: number
}

export interface ClusterView {
  readonly now: number
  readonly boards: readonly BoardView[]
  /** Per-function demand, by function name (scale, place, power). Absent = nothing known. */
  readonly fns?: Readonly<Record<string, FnDemand>>
  /**
   * Optional index: for each function, the indexes in `boards` of boards holding warm runtimes of it.
   * A function it has no entry for is warm on no board. Lets balancers skip a scan of every
   * board on large clusters; absent = computed by a scan.
   */
  readonly holders?: Readonly<Record<string, readonly number[]>>
}

/** Every decision is recorded with its inputs and per-candidate scores. */
export interface Decision {
  readonly kind: 'balance' | 'scale' | 'place' | 'power'
  readonly policy: string
  readonly at: number
  readonly fn?: string
  /** The chosen board id (balance), or null when none could be chosen. */
  readonly choice: string | null
  readonly scores: Readonly<Record<string, number>>
  readonly inputs?: Readonly<Record<string, unknown>>
  readonly reason: string
}

export interface BalancePolicy {
  readonly name: string
  pick: (view: ClusterView, fn: string, rng: Rng) => Decision
}

/** Output of a scale tick. */
export interface ScaleResult {
  /**
   * Warm runtimes wanted per function, in reference-speed runtimes: a placement on a board of
   * speed s counts s of them (the fair placement); a speed-blind placement counts runtimes.
   */
  readonly targets: Readonly<Record<string, number>>
  /** Forecast arrival rate (invocations/s) per function over the policy's horizon. */
  readonly forecast: Readonly<Record<string, number>>
  readonly decisions: readonly Decision[]
}

/** Periodic: the leader calls `tick` every `intervalMs`; the object keeps its own explicit state. */
export interface ScalePolicy {
  readonly name: string
  readonly intervalMs: number
  tick: (view: ClusterView, rng: Rng) => ScaleResult
}

/** Warm-runtime targets per board and function: the `control: warm` messages to send. */
export interface Placement {
  readonly warm: Readonly<Record<string, Readonly<Record<string, number>>>>
  readonly decisions: readonly Decision[]
}

export interface PlacePolicy {
  readonly name: string
  place: (view: ClusterView, targets: Readonly<Record<string, number>>, rng: Rng) => Placement
}

export interface PowerAction { readonly board: string, readonly op: 'gate' | 'wake' }

export interface PowerPlan {
  readonly actions: readonly PowerAction[]
  readonly decisions: readonly Decision[]
}

/** Periodic: the leader calls `tick` every `intervalMs` with the latest scale result. */
export interface PowerPolicy {
  readonly name: string
  readonly intervalMs: number
  tick: (view: ClusterView, scale: ScaleResult, rng: Rng) => PowerPlan
}
