import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getProfile, loadProfiles } from '../../boards/index.js'
import { startBroker } from '../../runtime/leader/broker.js'
import { Leader } from '../../runtime/leader/leader.js'
import { Registry } from '../../runtime/leader/registry.js'
import { createPolicySet } from '../../runtime/leader/policies/policy-sets.js'
import type { BoardView, ClusterView, FnDemand, FnView } from '../../runtime/leader/policies/types.js'
import { encode, parseRun, type BoardState, type OfflineState, type Receipt } from '../../runtime/protocol/messages.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { ManualClock } from '../../runtime/shared/clock.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { seededRng } from '../../runtime/shared/rng.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { AedesTransport } from '../../runtime/transport/aedes-transport.js'
import type { Inv } from '../../runtime/sim/heap.js'
import { SimBoard } from '../../runtime/sim/sim-board.js'
import { simBoardState, simIncarnation, simOfflineState } from '../../runtime/sim/sim-gossip.js'
import { SimLeader } from '../../runtime/sim/sim-leader.js'
import { simulate, SIM_DEFAULTS } from '../../runtime/sim/simulator.js'
import { parseBoardSpec } from '../../runtime/sim/run.js'
import type { Trace } from '../../runtime/sim/trace.js'
import { until } from '../helpers/leader-rig.js'
import { TestClient } from '../helpers/mqtt.js'
import { manualSimBoard } from '../helpers/sim-board-hooks.js'

// Every field of the view types, listed; the `satisfies` and the `Missing` checks fail to compile
// when a field is added to a type and not here, so a new input cannot reach only one of the views.
const BOARD = ['id', 'profile', 'power', 'routable', 'queueLen', 'inflight', 'serviceRate', 'functions', 'powerW', 'powerUnknown', 'lastSeenMs', 'idleSinceMs',
  'meanServiceMs', 'workMs', 'queuedByClass', 'workRuns', 'runtimeCount', 'queueLimit', 'overdueSinceMs'] as const satisfies ReadonlyArray<keyof BoardView>
const FN = ['queueLen', 'serviceRate', 'running', 'runtimes', 'serviceMs'] as const satisfies ReadonlyArray<keyof FnView>
const DEMAND = ['arrivals', 'inflight', 'serviceMs', 'concurrency', 'memoryMb', 'coldMs'] as const satisfies ReadonlyArray<keyof FnDemand>
const CLUSTER = ['now', 'boards', 'fns', 'holders'] as const satisfies ReadonlyArray<keyof ClusterView>
type Missing = Exclude<keyof BoardView, typeof BOARD[number]> | Exclude<keyof FnView, typeof FN[number]> |
  Exclude<keyof FnDemand, typeof DEMAND[number]> | Exclude<keyof ClusterView, typeof CLUSTER[number]>
const everyField: [Missing] extends [never] ? true : false = true

/** Which of `fields` the object gives a value for. */
const given = (o: object, fields: readonly string[]): string[] => fields.filter((k) => (o as Record<string, unknown>)[k] !== undefined)

const CODE = 'export default () => 1'
const MANIFEST = buildManifest('f', CODE, { memory_mb: 64, concurrency: 1 })

/**
 * The live leader on a real broker (aedes on 127.0.0.1), on a manual clock, with the simulator's
 * leader side beside it. A board model (SimBoard) is driven by hand; each of its states goes to
 * the live leader as JSON over MQTT and to the simulator's leader as the typed message, and the
 * two are compared by value after every step.
 */
const rig = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-parity-'))
  const clock = new ManualClock(10_000)
  const broker = await startBroker({ port: 0, host: '127.0.0.1', log: silentLogger })
  const transport = new AedesTransport(broker.aedes)
  const topics = new Topics()
  const registry = new Registry(dir, transport, topics, silentLogger)
  await registry.start()
  const profiles = loadProfiles()
  const live = new Leader({ transport, topics, registry, profiles, log: silentLogger, clock, rng: seededRng(1), balance: createPolicySet('wisp').balance })
  await live.start()
  await publishDeployment(transport, topics, MANIFEST, CODE)
  await until(() => registry.get('f')?.sha256 === MANIFEST.sha256, 5000, 'the deployment')
  const url = `mqtt://127.0.0.1:${broker.port}`
  const board = await TestClient.connect(url, { clientId: 'parity-b1' })
  await board.sub(topics.board('b1', 'run'))
  const client = await TestClient.connect(url, { clientId: 'parity-client' })
  await client.sub(`${topics.prefix}/result/c1/#`)
  const sim = new SimLeader([{ name: 'f', concurrency: MANIFEST.concurrency, memory_mb: MANIFEST.memory_mb }], profiles)
  sim.at(clock.now())

  // The board model, as the simulator drives it.
  const finished: Array<{ inv: Inv, ms: number }> = []
  const hand = manualSimBoard({
    now: () => clock.now(),
    finished: (b, inv, ms) => { b.finish(inv, ms); finished.push({ inv, ms }) },
    coldMs: () => 20,
    slots: () => MANIFEST.concurrency,
    memoryMb: () => MANIFEST.memory_mb,
    fnName: () => 'f',
    refMs: () => sim.serviceMsOf('f'),
    queueLimit: () => 256
  })
  const model = new SimBoard('b1', 0, getProfile('raspberry-pi-4b'), hand.hooks, 1, 'ratio', 4)
  let seq = 0
  let incarnation = simIncarnation(clock.now(), 0, 0)

  const advance = (ms: number): void => { clock.advance(ms); sim.at(clock.now()) }
  /** One message on the board's state topic: over MQTT to the live leader, typed to the simulator's. */
  const state = async (msg: BoardState | OfflineState): Promise<void> => {
    sim.onState(msg)
    await board.pub(topics.board('b1', 'state'), encode(msg), { qos: 1 })
    await until(() => { const r = live.cluster.get('b1'); return r !== undefined && r.incarnation === msg.incarnation && (msg.status === 'offline' ? r.status === 'offline' : r.seq === msg.seq) }, 5000, `state ${'seq' in msg ? msg.seq : 'offline'}`)
  }
  return {
    live, sim, model, clock, advance, finished,
    gossip: async () => await state(simBoardState(model, incarnation, ++seq, clock.now())),
    lastWill: async () => await state(simOfflineState(model, incarnation, clock.now())),
    reboot: () => { incarnation = simIncarnation(clock.now(), 0, 1); seq = 0 },
    /** A client invokes f; the live leader routes it to b1; the simulator's leader does what `Leader.onInvoke` and `dispatch` do. */
    invoke: async (req: string): Promise<{ invocation: string, attempt: number, inv: Inv }> => {
      const before = board.on(topics.board('b1', 'run')).length
      await client.pub(topics.invoke('f', 'c1', req), JSON.stringify({ n: 1 }))
      const got = await board.waitFor((r) => r.filter((x) => x.topic === topics.board('b1', 'run')).length > before, 5000)
      const run = parseRun(got.filter((x) => x.topic === topics.board('b1', 'run'))[before]!.payload)
      sim.arrive('f')
      sim.track('f', 1)
      sim.dispatched('b1', 'f')
      const inv: Inv = { fn: 0, arrival: clock.now(), durRef: 80, cold: false, est: 0 }
      model.enqueue(inv)
      return { invocation: run.invocation, attempt: run.attempt, inv }
    },
    /** The board model finishes its run; b1 answers with the receipt; both leaders take it in. */
    finish: async (run: { invocation: string, attempt: number }): Promise<void> => {
      const w = hand.peekWake()
      if (w === null) throw new Error('nothing running')
      advance(Math.max(0, w.at - clock.now()))
      model.tick(w.gen)
      const f = finished.at(-1)!
      const runMs = f.ms - (f.inv.cold ? 20 / model.trueSpeed : 0)
      const queueMs = (f.inv.start ?? f.inv.arrival) - f.inv.arrival
      const totalMs = clock.now() - f.inv.arrival
      const receipt: Receipt = { request_id: 'x', function: 'f', board: 'b1', attempt: run.attempt, cold: f.inv.cold, queue_ms: queueMs, run_ms: runMs, total_ms: totalMs, energy_mj: 1, power_w: 3 }
      // The simulator hands its leader what the live leader reads off the receipt (as simulator.ts does).
      sim.done('b1', 'f', runMs, f.ms - runMs, f.inv.cold)
      sim.track('f', -1)
      const before = live.inflightCount()
      await board.pub(topics.board('b1', 'done'), encode({ v: 1, invocation: run.invocation, attempt: run.attempt, reply: { ok: true, result: 1, receipt } }))
      await until(() => live.inflightCount() === before - 1, 5000, 'the done')
    },
    close: async () => {
      await board.close(); await client.close()
      await live.stop(); await transport.close(); await registry.close(); await broker.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

t.test('the same board states give the live leader and the simulator the same views, value for value', async (t) => {
  const r = await rig()
  t.teardown(r.close)
  /** Both composed views (balancer's and control loop's), compared whole: every board, function, demand and holder. */
  const same = (what: string): void => {
    t.strictSame(r.sim.dispatchView({ name: 'f', concurrency: 1, memory_mb: 64 }), r.live.dispatchView(MANIFEST), `${what}: the balancer's view`)
    t.strictSame(r.sim.policyView(), r.live.policyView(), `${what}: the policies' view`)
  }
  await r.gossip()
  same('an idle board joined')
  t.equal(r.live.policyView().boards[0]?.routable, true)

  const run = await r.invoke('q1')
  same('sent, before the board reports it')
  t.equal(r.live.policyView().boards[0]?.inflight, 1)
  r.advance(10)
  await r.gossip()
  same('the board reports it running')
  t.equal(r.live.policyView().boards[0]?.functions.f?.running, 1)

  // A second run of f starts a second runtime beside the first.
  const second = await r.invoke('q2')
  r.advance(10)
  await r.gossip()
  same('two running')

  await r.finish(run)
  same('the first answered, before the next gossip')
  t.ok((r.live.policyView().boards[0]?.meanServiceMs ?? 0) > 0, 'service time measured from the receipt')
  t.ok((r.live.policyView().fns?.f?.serviceMs ?? 0) > 0)
  t.not(r.live.policyView().fns?.f?.coldMs, undefined, 'cold-start cost learned from the cold receipt')
  r.advance(10)
  await r.gossip()
  same('after the gossip')
  await r.finish(second)
  r.advance(1000)
  await r.gossip()
  same('idle again, warm')
  t.same(r.live.policyView().holders, { f: [0] })

  // The power controller's record, then the relay opens: the Last Will; then a new boot.
  r.live.cluster.setPower('b1', 'shutting-down')
  r.sim.setPower('b1', 'shutting-down')
  same('shutting down')
  await r.lastWill()
  r.live.cluster.setPower('b1', 'gated')
  r.sim.setPower('b1', 'gated')
  same('gated')
  t.equal(r.live.policyView().boards[0]?.power, 'gated')
  r.advance(3000)
  r.model.setPower('booting')
  r.model.setPower('on')
  r.reboot()
  await r.gossip()
  same('booted again')
  t.equal(r.live.policyView().boards[0]?.routable, true)
})

t.test('the simulator\'s policies read views with every field the live leader gives', async (t) => {
  t.equal(everyField, true)
  let seen: ClusterView | null = null
  const wisp = createPolicySet('wisp')
  const trace: Trace = { name: 'x', minutes: 1, skipped: 0, fns: [{ name: 'f', hash: 'f', trigger: 'http', counts: Float64Array.from([600]), pcts: [50, 50, 50, 50, 50, 50, 50], meanMs: 50 }] }
  simulate({
    ...SIM_DEFAULTS, trace, boards: parseBoardSpec('raspberry-pi-4b:1'), seed: 1, scale: 1, drainMs: 0,
    policies: { ...wisp, balance: { name: 'probe', pick: (v, fn, rng) => { seen = v; return wisp.balance.pick(v, fn, rng) } } }
  })
  if (seen === null) throw new Error('the balancer was never called')
  const v: ClusterView = seen
  t.same(given(v, CLUSTER), [...CLUSTER])
  // No run is overdue: a simulated board answers every run it takes (the leader's expiry is not
  // simulated); nor does a simulated power sensor fail (powerUnknown).
  t.same(given(v.boards[0]!, BOARD), BOARD.filter((k) => k !== 'overdueSinceMs' && k !== 'powerUnknown'), 'every board field')
  t.same(given(v.boards[0]!.functions.f!, FN), [...FN], 'every field of a function on a board')
  // Both sides learn the cold-start cost from receipts (a cold run's time beyond queue and run).
  t.same(given(v.fns!.f!, DEMAND), [...DEMAND])
  t.ok((v.boards[0]!.meanServiceMs ?? 0) > 0, 'service times measured from receipts')
  t.ok(v.now - v.boards[0]!.lastSeenMs <= 1000, 'the boards gossip at least every second')
})
