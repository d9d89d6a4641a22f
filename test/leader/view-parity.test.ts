import t from 'tap'
import { loadProfiles } from '../../boards/index.js'
import { ClusterState } from '../../runtime/leader/cluster-state.js'
import { DemandTracker } from '../../runtime/leader/demand.js'
import type { BoardView, ClusterView, FnDemand, FnView } from '../../runtime/leader/policies/types.js'
import { createPolicySet, type PolicySet } from '../../runtime/leader/policies/policy-sets.js'
import { BoardStateSchema } from '../../runtime/protocol/messages.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { ManualClock } from '../../runtime/shared/clock.js'
import { parseBoardSpec } from '../../runtime/sim/run.js'
import { simulate, SIM_DEFAULTS } from '../../runtime/sim/simulator.js'
import type { Trace } from '../../runtime/sim/trace.js'

// Every field of the view types, listed; the `satisfies` and the `Missing` checks fail to compile
// when a field is added to a type and not here, so a new input cannot reach only one of the views.
const BOARD = ['id', 'profile', 'power', 'routable', 'queueLen', 'inflight', 'serviceRate', 'functions', 'powerW', 'lastSeenMs', 'idleSinceMs',
  'meanServiceMs', 'workMs', 'queuedByClass', 'workRuns', 'runtimeCount', 'queueLimit'] as const satisfies ReadonlyArray<keyof BoardView>
const FN = ['queueLen', 'serviceRate', 'running', 'runtimes', 'serviceMs'] as const satisfies ReadonlyArray<keyof FnView>
const DEMAND = ['arrivals', 'inflight', 'serviceMs', 'concurrency', 'memoryMb', 'coldMs'] as const satisfies ReadonlyArray<keyof FnDemand>
const CLUSTER = ['now', 'boards', 'fns', 'holders'] as const satisfies ReadonlyArray<keyof ClusterView>
type Missing = Exclude<keyof BoardView, typeof BOARD[number]> | Exclude<keyof FnView, typeof FN[number]> |
  Exclude<keyof FnDemand, typeof DEMAND[number]> | Exclude<keyof ClusterView, typeof CLUSTER[number]>
const everyField: [Missing] extends [never] ? true : false = true

/** Which of `fields` the object gives a value for. */
const given = (o: object, fields: readonly string[]): string[] => fields.filter((k) => (o as Record<string, unknown>)[k] !== undefined)

/** The live leader's view, as `Leader.policyView` composes it: gossip and receipts from one board running f. */
const liveView = (): ClusterView => {
  const clock = new ManualClock(10_000)
  const cluster = new ClusterState(clock, loadProfiles(), 5000)
  const demand = new DemandTracker()
  const gossip = BoardStateSchema.parse({
    v: 1, id: 'b1', incarnation: '00000000a-aaaaaa', profile: 'raspberry-pi-4b', status: 'online', ts: 0, seq: 1, power_w: 3, energy_j: 1,
    queue_len: 1, service_rate: 2, functions: { f: { queue_len: 1, service_rate: 2, running: 1, runtimes: 1 } }, mem_mb: 64, power_source: 'surrogate',
    work_ms: 150, work_runs: 2, queued_ms_by_class: [0, 0, 0, 0, 0, 0, 0, 50], queue_limit: 256
  })
  cluster.onState(gossip)
  demand.arrive('f')
  cluster.addInflight('b1', 'f', 1)
  cluster.addInflight('b1', 'f', -1)
  cluster.complete('b1', 'f', 80)
  demand.complete('f', 80, 1)
  const m = buildManifest('f', 'export default () => 1')
  return { ...cluster.view(), fns: demand.view([m], new Map([['f', 1]]), false) }
}

/** The simulator's view, as a balancer sees it mid-run (a policy set whose balancer keeps the last view it was given). */
const simView = (): ClusterView => {
  let seen: ClusterView | null = null
  const wisp = createPolicySet('wisp')
  const probe: PolicySet = { ...wisp, balance: { name: 'probe', pick: (v, fn, rng) => { seen = { ...v, boards: [...v.boards] }; return wisp.balance.pick(v, fn, rng) } } }
  const trace: Trace = { name: 'x', minutes: 1, skipped: 0, fns: [{ name: 'f', hash: 'f', trigger: 'http', counts: Float64Array.from([600]), pcts: [50, 50, 50, 50, 50, 50, 50], meanMs: 50 }] }
  simulate({ ...SIM_DEFAULTS, trace, boards: parseBoardSpec('raspberry-pi-4b:1'), policies: probe, seed: 1, scale: 1, drainMs: 0 })
  if (seen === null) throw new Error('the balancer was never called')
  return seen
}

t.test('the live leader and the simulator give the policies the same fields', async (t) => {
  t.equal(everyField, true)
  const live = liveView()
  const sim = simView()
  t.same(given(sim, CLUSTER), given(live, CLUSTER), 'cluster')
  t.same(given(sim, CLUSTER), ['now', 'boards', 'fns', 'holders'])
  const lb = live.boards[0]!
  const sb = sim.boards[0]!
  t.same(given(sb, BOARD), given(lb, BOARD), 'board')
  t.same(given(lb, BOARD), [...BOARD], 'the live board view fills every field')
  t.same(given(sb.functions.f!, FN), given(lb.functions.f!, FN), 'function on a board')
  t.same(given(lb.functions.f!, FN), [...FN])
  t.same(given(sim.fns!.f!, DEMAND), given(live.fns!.f!, DEMAND), 'demand')
  // Neither knows the cold-start cost: the balancer's default stands in for both.
  t.same(given(live.fns!.f!, DEMAND), ['arrivals', 'inflight', 'serviceMs', 'concurrency', 'memoryMb'])
  // The estimates agree in kind: service times measured (not zero) on both sides after runs.
  t.ok((lb.meanServiceMs ?? 0) > 0 && (sb.meanServiceMs ?? 0) > 0)
  t.equal(lb.queueLimit, sb.queueLimit)
})
