/**
 * Routing cost on a large cluster: 1,000 boards × 10,000 functions, each function warm on 3
 * boards. The headline times the live leader's whole dispatch decision, as `dispatch` makes
 * it: `Leader.dispatchView(manifest)` (the cluster view from gossip plus per-function demand,
 * kept incrementally) and the Mu balancer's `pick` on it, with one board's in-flight count
 * changing per decision as a dispatch changes it. The full view the scale tick takes
 * (`Leader.policyView()`, rebuilt per call) is reported beside it. The board state reaches the leader as gossip messages through
 * ClusterState.onState, as on a real cluster. The balancer alone on a view built once (with a
 * holders index) is reported beside it, for the share the view takes.
 * Writes bench/results/routing.json; goal ≤ 10 µs per decision.
 */
import { Aedes } from 'aedes'
import { createHash } from 'node:crypto'
import { loadProfiles } from '../../boards/index.js'
import type { BoardState, Manifest } from '../../runtime/protocol/messages.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { Leader } from '../../runtime/leader/leader.js'
import type { Registry } from '../../runtime/leader/registry.js'
import type { BoardView, ClusterView, FnDemand, FnView } from '../../runtime/leader/policies/types.js'
import { createMuBalance } from '../../runtime/leader/policies/balance-mu.js'
import { ManualClock } from '../../runtime/shared/clock.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { seededRng } from '../../runtime/shared/rng.js'
import { AedesTransport } from '../../runtime/transport/aedes-transport.js'
import { figure, info, writeResult } from './lib/figures.js'

const BOARDS = 1000
const FNS = 10_000
const HOLDERS = 3
const rng = seededRng(42)
const profiles = [...loadProfiles().values()].filter((p) => p.gateable)
const fnNames = Array.from({ length: FNS }, (_, i) => `fn-${i}`)
const order = Array.from({ length: 1 << 16 }, () => fnNames[Math.floor(rng() * FNS)]!)

/** Decisions per microsecond-accurate timing: runs `one` for at least `minMs`, returns µs each. */
const timeEach = (one: (i: number) => void, minMs: number): number => {
  for (let i = 0; i < 50; i++) one(i) // warm-up
  let n = 0
  const t0 = process.hrtime.bigint()
  let elapsed = 0
  while (elapsed < minMs * 1e6) { for (let k = 0; k < 50; k++) one(n++); elapsed = Number(process.hrtime.bigint() - t0) }
  return elapsed / 1000 / n
}

// --- the live leader: gossip in, policyView + pick out ----------------------------------
const clock = new ManualClock(1_000_000)
const manifests: Manifest[] = fnNames.map((name) => ({
  v: 1, name, sha256: createHash('sha256').update(name).digest('hex'), size: 100, memory_mb: 64, timeout_ms: 10_000, concurrency: 1, isolation: 'shared'
}))
const byName = new Map(manifests.map((m) => [m.name, m]))
// The registry's read side (what the leader calls); its write side is MQTT + LevelDB.
const registry = { get: (fn: string) => byName.get(fn), list: () => [...byName.values()] } as unknown as Registry
const leader = new Leader({
  transport: new AedesTransport(new Aedes()),
  topics: new Topics(),
  registry,
  clock,
  rng: seededRng(7),
  balance: createMuBalance(),
  profiles: new Map(profiles.map((p) => [p.name, p])),
  log: silentLogger
})
const gossip: Array<Record<string, BoardState['functions'][string]>> = Array.from({ length: BOARDS }, () => ({}))
for (const fn of fnNames) {
  for (let k = 0; k < HOLDERS; k++) gossip[Math.floor(rng() * BOARDS)]![fn] = { queue_len: Math.floor(rng() * 3), service_rate: 5, running: 1, runtimes: 1 + Math.floor(rng() * 2) }
}
gossip.forEach((functions, i) => {
  leader.cluster.onState({
    v: 1, id: `b${i}`, incarnation: '0000000001', profile: profiles[i % profiles.length]!.name, status: 'online', ts: clock.now(), seq: 1,
    power_w: 2, energy_j: 0, queue_len: Math.floor(rng() * 8), service_rate: 10, functions, mem_mb: 100, power_source: 'surrogate'
  })
})
for (const fn of order.slice(0, 5000)) leader.demand.arrive(fn)
const balance = createMuBalance()
const pickRng = seededRng(9)
let routed = 0
const liveUs = timeEach((i) => {
  const fn = order[i & 0xffff]!
  const choice = balance.pick(leader.dispatchView(byName.get(fn)!), fn, pickRng).choice
  if (choice !== null) { routed++; leader.cluster.addInflight(choice, fn, 1); leader.cluster.addInflight(choice, fn, -1) }
}, 3000)
process.stdout.write(`live dispatch (dispatchView + pick): ${liveUs.toFixed(2)} µs per decision (${routed > 0 ? 'routed' : 'none routed'})\n`)
const fullUs = timeEach((i) => { if (balance.pick(leader.policyView(), order[i & 0xffff]!, pickRng).choice !== null) routed++ }, 3000)
process.stdout.write(`full view (policyView + pick): ${fullUs.toFixed(2)} µs per decision\n`)
// Where the full view goes: the boards part (ClusterState.fullView) and the demand part.
let sinkN = 0
const boardsUs = timeEach(() => { sinkN += leader.cluster.fullView().boards.length }, 1500)
const noInflight = new Map<string, number>()
const demandUs = timeEach(() => { sinkN += Object.keys(leader.demand.view(registry.list(), noInflight, false)).length }, 1500)
process.stdout.write(`  of which boards view ${boardsUs.toFixed(1)} µs, demand view ${demandUs.toFixed(1)} µs (${sinkN > 0 ? 'ok' : 'empty'})\n`)

// --- the balancer alone on a view built once, with a holders index ------------------------
const funcs: Array<Record<string, FnView>> = Array.from({ length: BOARDS }, () => ({}))
const holders: Record<string, number[]> = {}
const fns: Record<string, FnDemand> = {}
for (const fn of fnNames) {
  holders[fn] = []
  fns[fn] = { arrivals: 0, inflight: 0, serviceMs: 20 + rng() * 500, concurrency: 1, memoryMb: 64 }
  for (let k = 0; k < HOLDERS; k++) {
    const b = Math.floor(rng() * BOARDS)
    holders[fn]!.push(b)
    funcs[b]![fn] = { queueLen: Math.floor(rng() * 3), serviceRate: 5, running: 1, runtimes: 1 + Math.floor(rng() * 2), serviceMs: 50 + rng() * 300 }
  }
}
const boards: BoardView[] = funcs.map((f, i) => ({
  id: `b${i}`, profile: profiles[i % profiles.length]!, power: 'on', routable: true, queueLen: Math.floor(rng() * 8), inflight: Math.floor(rng() * 8),
  serviceRate: 10, functions: f, powerW: 2, lastSeenMs: 0, idleSinceMs: null, meanServiceMs: 100
}))
const view: ClusterView = { now: 1000, boards, fns, holders }
const mu = createMuBalance()
const pickUs = timeEach((i) => { if (mu.pick(view, order[i & 0xffff]!, pickRng).choice !== null) routed++ }, 2000)
process.stdout.write(`balance-mu alone: ${pickUs.toFixed(2)} µs per decision\n`)

writeResult('routing', [
  figure({ figure: `live dispatch decision (Leader.dispatchView + balance-mu pick), ${BOARDS} boards × ${FNS} functions, ${HOLDERS} warm boards each`, value: liveUs, unit: 'µs', baseline: 'full view rebuilt per decision (Leader.policyView + pick)', baseline_value: fullUs, goal: '<= 10', met: liveUs <= 10 }),
  info({ figure: 'full view: boards part (ClusterState.fullView, rebuilt per call)', value: boardsUs, unit: 'µs', baseline: null, baseline_value: null }),
  info({ figure: 'full view: demand part (DemandTracker.view over the registry, rebuilt per call)', value: demandUs, unit: 'µs', baseline: null, baseline_value: null }),
  info({ figure: 'balance-mu pick alone on a prebuilt view (holders index, 2 random others)', value: pickUs, unit: 'µs', baseline: null, baseline_value: null })
], { boards: BOARDS, functions: FNS, holders: HOLDERS })
