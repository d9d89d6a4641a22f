import type { BalancePolicy, PlacePolicy, PowerPolicy, QueueDiscipline, ScalePolicy } from './types.js'
import { WispError } from '../../shared/errors.js'
import { createMuBalance } from './balance-mu.js'
import { createRoundRobin } from './balance-round-robin.js'
import { p2c } from './balance-p2c.js'
import { createProactiveScale } from './scale-proactive.js'
import { createKpa } from './scale-knative-kpa.js'
import { createPlaceFair } from './place-fair.js'
import { placeSpread } from './place-spread.js'
import { createPowerGate, powerNone } from './power-gate.js'

/** One control plane: the four policies the leader (or the simulator) runs together. */
export interface PolicySet {
  readonly name: string
  readonly balance: BalancePolicy
  readonly scale: ScalePolicy
  readonly place: PlacePolicy
  readonly power: PowerPolicy
  /**
   * The boards' queue discipline the simulator models for this set. Live boards always run the
   * agent's run scheduler (`ratio`); the baselines model a node serving its queue in arrival order.
   */
  readonly queue: QueueDiscipline
}

/** Factories, because the stateful policies (round-robin, forecasts, KPA windows, hysteresis) must start fresh per run. */
export const POLICY_SETS: Readonly<Record<string, () => PolicySet>> = {
  wisp: () => ({ name: 'wisp', balance: createMuBalance(), scale: createProactiveScale(), place: createPlaceFair(), power: createPowerGate(), queue: 'ratio' }),
  'wisp-no-gate': () => ({ name: 'wisp-no-gate', balance: createMuBalance(), scale: createProactiveScale(), place: createPlaceFair(), power: powerNone, queue: 'ratio' }),
  baseline: () => ({ name: 'baseline', balance: createRoundRobin(), scale: createKpa(), place: placeSpread, power: powerNone, queue: 'fifo' }),
  knative: () => ({ name: 'knative', balance: createRoundRobin(), scale: createKpa(), place: placeSpread, power: powerNone, queue: 'fifo' }),
  // Ablation: Knative's control plane on boards that order their queues as wisp's agent does.
  'baseline-ratio': () => ({ name: 'baseline-ratio', balance: createRoundRobin(), scale: createKpa(), place: placeSpread, power: powerNone, queue: 'ratio' }),
  p2c: () => ({ name: 'p2c', balance: p2c, scale: createKpa(), place: placeSpread, power: powerNone, queue: 'fifo' })
}

/** The sets `--policy all` runs (knative is the same as baseline, so it is not run twice). */
export const ALL_SETS = ['wisp', 'wisp-no-gate', 'baseline', 'p2c'] as const

export const createPolicySet = (name: string): PolicySet => {
  const f = POLICY_SETS[name]
  if (f === undefined) throw new WispError('WISP_BAD_CONFIG', `unknown policy set "${name}"; known: ${Object.keys(POLICY_SETS).join(', ')}, all`)
  return f()
}
