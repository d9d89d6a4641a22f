import type { BoardProfile } from '../../../boards/schema.js'
import type { Rng } from '../../shared/rng.js'

/**
 * The leader's view of the cluster as the policies see it. The live leader builds it from
 * gossip; the simulator builds it from its simulated boards. Policies never read clocks or
 * Math.random: time is `view.now`, randomness the injected Rng.
 */
export type PowerState = 'on' | 'booting' | 'draining' | 'shutting-down' | 'gated' | 'offline'

export interface FnView {
  /** Invocations of the function queued on the board (gossiped, plus the leader's own in-flight count since). */
  readonly queueLen: number
  /** Completions per second of the function on this board (EWMA, gossiped). 0 = not measured yet. */
  readonly serviceRate: number
  readonly running: number
  /** Warm runtimes of the function on the board. */
  readonly runtimes: number
}

export interface BoardView {
  readonly id: string
  readonly profile: BoardProfile
  readonly power: PowerState
  /** True when the board may take new invocations (on, gossip fresh, not draining). */
  readonly routable: boolean
  /** Total queue length on the board (all functions). */
  readonly queueLen: number
  /** Invocations the leader sent and has not seen done (exact). */
  readonly inflight: number
  readonly serviceRate: number
  readonly functions: Readonly<Record<string, FnView>>
  readonly powerW: number
  /** Leader clock time of the last gossip. */
  readonly lastSeenMs: number
  /** Leader clock time since when the board has had nothing in flight (null = busy). */
  readonly idleSinceMs: number | null
}

export interface ClusterView {
  readonly now: number
  readonly boards: readonly BoardView[]
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
