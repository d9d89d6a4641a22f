import type { BoardProfile } from '../../boards/schema.js'
import type { FunctionRow } from '../protocol/admin.js'
import type { InvocationRecord } from '../protocol/invocation-record.js'
import type { BoardState } from '../protocol/messages.js'
import type { Decision, PowerState } from '../leader/policies/types.js'

/** A power sample for the charts: [epoch milliseconds, watts]. */
export type PowerSample = readonly [t_ms: number, watts: number]

export type { InvocationRecord } from '../protocol/invocation-record.js'

/** What a board's status page shows. The agent fills it. */
export interface BoardSnapshot {
  readonly kind: 'board'
  /** Epoch milliseconds when the snapshot was taken. */
  readonly generated_ms: number
  /** The latest gossip the board published (per-function queue, service rate and runtimes live in state.functions). */
  readonly state: BoardState
  readonly profile: BoardProfile
  /** Which meter the power figures come from. */
  readonly power_source: 'ina219' | 'surrogate'
  /** Latest sampled power and energy since the agent started (may be fresher than state). */
  readonly power_w: number
  /** true: the power sensor keeps failing, so `power_w` is its last good reading (the page shows it as unknown). */
  readonly power_unknown?: true
  readonly energy_j: number
  /** Recent power samples, oldest first (a few minutes is plenty). */
  readonly power_samples: readonly PowerSample[]
  /** Recent invocations, newest first. */
  readonly invocations: readonly InvocationRecord[]
}

/** One board as the cluster page shows it. */
export interface ClusterBoard {
  readonly id: string
  /** Profile name (boards/profiles). */
  readonly profile: string
  readonly power: PowerState
  /** null while the board's power sensor keeps failing (`power_unknown`): its last reading is stale. */
  readonly power_w: number | null
  /** true: the board's power sensor keeps failing; the total counts it at its profile's modelled power. */
  readonly power_unknown?: true
  readonly energy_j?: number
  readonly queue_len: number
  /** Invocations the leader sent and has not seen done. */
  readonly inflight?: number
  readonly power_source?: 'ina219' | 'surrogate'
  /** The board's own status page (from its gossip). */
  readonly status_url?: string
  /** Epoch milliseconds of the last gossip. */
  readonly last_seen_ms?: number
}

/** One point of the cluster power history. */
export interface ClusterPowerPoint {
  readonly t_ms: number
  readonly total_w: number
  /** Per-board watts at that moment; a board missing here is drawn as a gap. */
  readonly boards: Readonly<Record<string, number>>
}

/** What the gateway's cluster page shows. The leader fills it. */
export interface ClusterSnapshot {
  readonly kind: 'cluster'
  readonly generated_ms: number
  readonly boards: readonly ClusterBoard[]
  /** Σ of the live boards' power; a board whose power is unknown counts at its profile's modelled power. */
  readonly total_power_w: number
  /** Energy of all boards since the leader started. */
  readonly energy_j: number
  /**
   * The leader's latest decisions, newest first, each with its per-candidate scores; a run of
   * identical ones (same kind, policy, function, choice and reason) is one row, the newest, with
   * `repeats` counting the run.
   */
  readonly decisions: ReadonlyArray<Decision & { readonly repeats?: number }>
  /** Jain's index of per-function slowdowns (1 = perfectly fair); null before there is data. */
  readonly fairness: { readonly jain: number | null }
  readonly latency: { readonly p50_ms: number | null, readonly p99_ms: number | null, readonly count: number }
  /** Oldest first. */
  readonly power_history: readonly ClusterPowerPoint[]
  /** Recent replies the leader relayed, newest first (optional). */
  readonly invocations?: readonly InvocationRecord[]
  /**
   * Every deployed function by name: version, triggers, limits, the figures of `wisp ls` (carbon
   * included) and its newest failures, secret values redacted (optional).
   */
  readonly functions?: readonly FunctionRow[]
}

export type Snapshot = BoardSnapshot | ClusterSnapshot

/**
 * Where a status server reads from. The agent or leader implements it: `snapshot()` is
 * called for every API request, page load and SSE push, so it should be cheap; listeners
 * are called when something changed (at most a few times a second; the server coalesces).
 */
export interface SnapshotSource<S extends Snapshot = Snapshot> {
  snapshot: () => S
  subscribe: (listener: () => void) => () => void
}
