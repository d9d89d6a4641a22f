import type { BalancePolicy, PlacePolicy, PowerPolicy, QueueDiscipline, ScalePolicy } from './types.js'
import { WispError } from '../../shared/errors.js'
import { createMuBalance } from './balance-mu.js'
import { createRoundRobin } from './balance-round-robin.js'
import { createActivator } from './balance-activator.js'
import { p2c } from './balance-p2c.js'
import { createProactiveScale } from './scale-proactive.js'
import { createKpa } from './scale-knative-kpa.js'
import { createPlaceFair } from './place-fair.js'
import { createPlaceSpread, placeSpread } from './place-spread.js'
import { createPowerGate, LIVE_POWER_DEFAULTS, powerNone } from './power-gate.js'
import { createIdleOff } from './power-idle-off.js'

/** One control plane: the four policies the leader (or the simulator) runs together. */
export interface PolicySet {
  readonly name: string
  readonly balance: BalancePolicy
  readonly scale: ScalePolicy
  readonly place: PlacePolicy
  readonly power: PowerPolicy
  /**
   * The boards' queue discipline the simulator models for this set. Live boards always run the
   * agent's run scheduler (`ratio`); Knative's nodes share their cores among pods (`ps`).
   */
  readonly queue: QueueDiscipline
  /**
   * The balancer is Knative's activator: a `choice: null` it marks `buffer` means "hold the
   * invocation in the function's queue at the leader until a runtime has a free slot".
   */
  readonly activator?: boolean
  /**
   * The containerConcurrency every function runs with in this set (0 = unlimited), overriding the
   * manifests' `concurrency`; absent = the manifests' (the simulator's `concurrency` option).
   */
  readonly concurrency?: number
  /** The boards' run slots per core (the agent's `run_slots` ÷ cores) the simulator models; absent = 1 (the agent's default). */
  readonly slotsPerCore?: number
}

const knative = (name: string, concurrency: number): PolicySet =>
  ({ name, balance: createActivator(), scale: createKpa(), place: createPlaceSpread(false), power: powerNone, queue: 'ps', activator: true, concurrency })

/** Factories, because the stateful policies (round-robin, forecasts, KPA windows, hysteresis) must start fresh per run. */
export const POLICY_SETS: Readonly<Record<string, () => PolicySet>> = {
  // wisp with the power gate the live leader runs (60 s idle, 2 min dwell, 5 min max min-on).
  wisp: () => ({ name: 'wisp', balance: createMuBalance(), scale: createProactiveScale(), place: createPlaceFair(), power: createPowerGate(LIVE_POWER_DEFAULTS), queue: 'ratio' }),
  // wisp with the agents' run_slots at 4 × cores (a board setting, not the default): short runs are
  // not held behind long ones for a core, the kernel time-slices them as it does Knative's pods.
  'wisp-4slots': () => ({ name: 'wisp-4slots', balance: createMuBalance(), scale: createProactiveScale(), place: createPlaceFair(), power: createPowerGate(LIVE_POWER_DEFAULTS), queue: 'ratio', slotsPerCore: 4 }),
  'wisp-no-gate': () => ({ name: 'wisp-no-gate', balance: createMuBalance(), scale: createProactiveScale(), place: createPlaceFair(), power: powerNone, queue: 'ratio' }),
  // Knative Serving on Kubernetes, as a user runs it: containerConcurrency 0 (unlimited; the
  // default of config-defaults `container-concurrency`), so the KPA aims at 100 × 70 % in flight per
  // pod and the activator picks the better of two random pods; activator (one queue per function),
  // KPA counting buffered requests, kube-scheduler LeastAllocated + spread, nodes sharing their
  // cores among pods.
  knative: () => knative('knative', 0),
  // The same with a hard containerConcurrency, as a user of CPU-bound functions might tune it: 1
  // (one request per pod: the earlier evaluation's only setting) and the boards' core count (4).
  'knative-cc1': () => knative('knative-cc1', 1),
  'knative-cc4': () => knative('knative-cc4', 4),
  // The energy baseline: Knative plus a cluster-autoscaler-like rule (a board idle 10 minutes is
  // powered off, woken on demand), at the containerConcurrency strongest on the tuning days (4).
  'idle-off': () => ({ ...knative('idle-off', 4), power: createIdleOff() }),
  p2c: () => ({ name: 'p2c', balance: p2c, scale: createKpa(), place: placeSpread, power: powerNone, queue: 'fifo' }),
  // The earlier, unfaithful baseline (round-robin over boards into one FIFO per board), kept for comparison with old results.
  baseline: () => ({ name: 'baseline', balance: createRoundRobin(), scale: createKpa(), place: placeSpread, power: powerNone, queue: 'fifo' }),
  // Ablation: that baseline on boards that order their queues as wisp's agent does.
  'baseline-ratio': () => ({ name: 'baseline-ratio', balance: createRoundRobin(), scale: createKpa(), place: placeSpread, power: powerNone, queue: 'ratio' })
}

/** The sets `--policy all` runs. */
export const ALL_SETS = ['knative', 'idle-off', 'p2c', 'wisp', 'wisp-no-gate'] as const

export const createPolicySet = (name: string): PolicySet => {
  // Any hard containerConcurrency: `knative-cc<N>`.
  const cc = /^knative-cc([1-9][0-9]{0,3})$/.exec(name)
  const f = POLICY_SETS[name] ?? (cc === null ? undefined : () => knative(name, Number(cc[1])))
  if (f === undefined) throw new WispError('WISP_BAD_CONFIG', `unknown policy set "${name}"; known: ${Object.keys(POLICY_SETS).join(', ')}, knative-cc<N>, all`)
  return f()
}
