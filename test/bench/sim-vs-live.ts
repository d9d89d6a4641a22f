// Does the simulator agree with the live cluster? One trace slice in the Azure 2019 format,
// expanded into invocations once (the simulator's own draw), run through `simulate` and
// replayed in real time against `wisp start` (4 boards: Pi 4, Pi Zero 2 W, BPI-M2 Zero,
// Orange Pi Zero 3), same policy set (default `wisp`: gating on), same seed. Figures: p50/p99
// latency and energy, value = simulator, baseline = live, goal ratio 0.8..1.2. Energy is compared
// over what both sides meter: while each board's agent runs (a live board's meter is in its
// process, so booting, shutting down and gated time is not metered), above idle per board over
// that time; the simulator is told what the handler does with a core (`cpuShare`: 0 for the
// sleeping handler, 1 for the spinning one) and what the runtime itself costs in CPU, per run,
// per runtime started (warm targets included) and at idle, measured first on a one-board cluster with the same handler at zero duration
// (lib/runtime-cpu.ts: a workload of its own, not the trace).
//   node --no-node-snapshot --import tsx test/bench/sim-vs-live.ts [--minutes 10] [--util 0.08] [--seed 3] [--policy wisp] [--work sleep|spin]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { getProfile } from '../../boards/index.js'
import { SIM_PROFILES } from '../../runtime/cluster/embedded-cluster.js'
import { createPolicySet } from '../../runtime/leader/policies/policy-sets.js'
import { coldStartMs, scaleForUtilisation } from '../../runtime/sim/run.js'
import { simulate, SIM_DEFAULTS, type SimDetail } from '../../runtime/sim/simulator.js'
import { generateTrace } from '../../runtime/sim/trace-gen.js'
import { parseTrace } from '../../runtime/sim/trace.js'
import { deployTrace, energyInWindow, expandInvocations, quantile, replayLive, upTimeInWindow } from '../../runtime/sim/replay-live.js'
import { testCluster } from '../helpers/cluster.js'
import { figure, report } from './lib/figures.js'
import { measureRuntimeCpu } from './lib/runtime-cpu.js'

const { values: a } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    util: { type: 'string', default: '0.08' },
    seed: { type: 'string', default: '3' },
    policy: { type: 'string', default: 'wisp' },
    work: { type: 'string', default: 'sleep' },
    out: { type: 'string', default: 'sim-vs-live' }
  }
})
const minutes = Number(a.minutes)
const util = Number(a.util)
const seed = Number(a.seed)
const policy = a.policy
const work = a.work === 'spin' ? 'spin' : 'sleep'
const FROM = 21 // the slice: minutes FROM..FROM+minutes-1 of a generated hour

const dir = mkdtempSync(join(tmpdir(), 'wisp-svl-'))
generateTrace(dir, { functions: 12, minutes: 60, seed, perMinute: 60 })
const trace = parseTrace(dir, { window: [FROM, FROM + minutes - 1] })
rmSync(dir, { recursive: true, force: true })
const boards = SIM_PROFILES.map((p) => getProfile(p))
const scale = scaleForUtilisation(trace, boards, util)
const invocations = expandInvocations(trace, seed, scale)
const cold = coldStartMs()
const maxDur = invocations.reduce((m, i) => Math.max(m, i.durRef), 0)
console.log(`trace ${trace.name} minutes ${FROM}-${FROM + minutes - 1}: ${trace.fns.length} functions, ${invocations.length} invocations (scale ${scale.toFixed(2)}, offered ${(util * 100).toFixed(0)} % of ${boards.map((b) => b.name).join(', ')}), longest ${maxDur.toFixed(0)} ms; cold start ${cold.ms} ms (${cold.source})`)

// --- the runtime's own CPU (calibration, apart from the trace) -------------------------
process.env.WISP_LOG ??= 'error'
const runtimeCpu = await measureRuntimeCpu({ idleMs: 20_000, runs: 300, ratePerS: 20, warmCycles: 30, work })
console.log(`runtime CPU: ${runtimeCpu.perRunMs.toFixed(2)} ms per run, ${runtimeCpu.perRuntimeMs.toFixed(2)} ms per runtime started, ${(runtimeCpu.idleCores * 100).toFixed(2)} % of a core at idle (reference speed; ${runtimeCpu.runs} runs, ${runtimeCpu.runtimesStarted} runtimes)`)

// --- simulator -------------------------------------------------------------------------
const simChoice: Array<string | null> = []
// The replay handlers: `sleep` waits on a timer (no core), `spin` keeps one busy.
const cpuShare = work === 'spin' ? 1 : 0
let simDetail: SimDetail | null = null
const sim = simulate({
  ...SIM_DEFAULTS, trace, boards, policies: createPolicySet(policy), seed, scale, coldMs: cold.ms, cpuShare,
  runtimeCpu: { perRunMs: runtimeCpu.perRunMs, idleCores: runtimeCpu.idleCores, perRuntimeMs: runtimeCpu.perRuntimeMs },
  onDecision: (d) => { if (d.kind === 'balance') simChoice.push(d.choice) },
  onDetail: (d) => { simDetail = d }
})
const detail0 = simDetail as SimDetail | null
if (detail0 === null) throw new Error('the simulator gave no detail')
const simBoards = detail0.boards
const ids = boards.map((_, i) => `b${i + 1}`)
const T = Math.max(minutes * 60, 1)
const simPer = ids.map((id, i) => {
  const p = boards[i]!
  const busyS = invocations.reduce((s, inv, k) => s + (simChoice[k] === id ? inv.durRef / p.speed / 1000 : 0), 0)
  const d = simBoards[i]!
  return { id, n: simChoice.filter((c) => c === id).length, busyS, upS: d.up_s, upJ: d.up_energy_j, aboveJ: d.up_energy_j - p.idle_w * d.up_s, boots: d.boots }
})

// --- live ------------------------------------------------------------------------------
const c = await testCluster({ boards: 4, policy })
let live
try {
  const timeoutMs = Math.min(15 * 60_000, Math.max(60_000, Math.ceil(4 * maxDur / Math.min(...boards.map((b) => b.speed)))))
  await deployTrace(c.cluster.gateway.transport, trace, { memoryMb: SIM_DEFAULTS.memoryMb, concurrency: SIM_DEFAULTS.concurrency, timeoutMs, work })
  await new Promise((resolve) => setTimeout(resolve, 3000)) // manifests reach the leader and the boards
  let lastLog = Date.now()
  live = await replayLive({
    url: c.url, trace, invocations, drainMs: 120_000,
    onProgress: (sent, answered) => { if (Date.now() - lastLog > 30_000) { lastLog = Date.now(); console.log(`  live: ${sent} sent, ${answered} answered`) } }
  })
} finally {
  await c.close()
}
const rec = live.records
const okRecs = rec.filter((r) => r.ok && r.totalMs !== undefined)
const liveE = energyInWindow(live.energy, live.startedAt, live.endedAt)
const liveUp = upTimeInWindow(live.energy, live.startedAt, live.endedAt)
const liveT = (live.endedAt - live.startedAt) / 1000
const livePer = ids.map((id, i) => {
  const p = boards[i]!
  const mine = okRecs.filter((r) => r.board === id)
  const runS = mine.reduce((s, r) => s + (r.runMs ?? 0), 0) / 1000
  return {
    id, n: mine.length, cold: mine.filter((r) => r.cold === true).length, runS,
    energyJ: liveE.get(id) ?? 0,
    upS: (liveUp.get(id) ?? 0) / 1000,
    aboveJ: (liveE.get(id) ?? 0) - p.idle_w * (liveUp.get(id) ?? 0) / 1000,
    modelJ: p.idle_w * liveT + (p.peak_w - p.idle_w) / p.cores * runS,
    receiptsJ: mine.reduce((s, r) => s + (r.energyMj ?? 0), 0) / 1000
  }
})
const liveEnergy = [...liveE.values()].reduce((s, x) => s + x, 0)
const total = okRecs.map((r) => r.totalMs as number)
const liveP50 = quantile(total, 0.5)
const liveP99 = quantile(total, 0.99)

// --- diagnosis -------------------------------------------------------------------------
console.log(`\nsim: ${sim.invocations} invocations, ${sim.cold_starts} cold starts, rejected ${sim.rejected}, lost ${sim.lost}; live: ${okRecs.length} ok, ${rec.length - okRecs.length} failed (${[...new Set(rec.filter((r) => !r.ok).map((r) => r.error))].join(', ') || 'none'}), ${okRecs.filter((r) => r.cold === true).length} cold`)
console.table(ids.map((id, i) => ({
  board: `${id} ${boards[i]!.name}`,
  'sim n': simPer[i]!.n,
  'live n': livePer[i]!.n,
  'sim busy s': +simPer[i]!.busyS.toFixed(1),
  'live run s': +livePer[i]!.runS.toFixed(1),
  'live cold': livePer[i]!.cold,
  'sim up s': +simPer[i]!.upS.toFixed(0),
  'live up s': +livePer[i]!.upS.toFixed(0),
  'sim J (up)': +simPer[i]!.upJ.toFixed(0),
  'live J (gossip)': +livePer[i]!.energyJ.toFixed(0),
  'sim J above idle': +simPer[i]!.aboveJ.toFixed(1),
  'live J above idle': +livePer[i]!.aboveJ.toFixed(1),
  'live J (model on live runs)': +livePer[i]!.modelJ.toFixed(0),
  'live J (receipts)': +livePer[i]!.receiptsJ.toFixed(1)
})))
const q = (xs: number[]): string => `p50 ${quantile(xs, 0.5).toFixed(1)}  p90 ${quantile(xs, 0.9).toFixed(1)}  p99 ${quantile(xs, 0.99).toFixed(1)}`
console.log(`live total_ms  ${q(total)}`)
console.log(`live client ms ${q(okRecs.map((r) => r.clientMs))}`)
console.log(`live queue_ms  ${q(okRecs.map((r) => r.queueMs ?? 0))}`)
console.log(`live overhead (total − run) ${q(okRecs.map((r) => (r.totalMs ?? 0) - (r.runMs ?? 0)))}`)
console.log(`live slowdown vs durRef/speed ${q(okRecs.map((r) => (r.runMs ?? 0) / (r.durRef / (boards[ids.indexOf(r.board ?? '')]?.speed ?? 1))))}`)
console.log(`energy window: live ${liveT.toFixed(1)} s, sim ${T} s (+ drain)`)

const detail = join(tmpdir(), `${a.out}.detail.json`)
writeFileSync(detail, JSON.stringify({
  trace: trace.name, window: [FROM, FROM + minutes - 1], seed, scale, util, policy, coldMs: cold.ms,
  sim, simPer, livePer, live: { p50: liveP50, p99: liveP99, energyJ: liveEnergy, windowS: liveT },
  records: rec
}) + '\n')
console.log(`per-invocation records: ${detail}`)

const goal = '0.8..1.2'
// Both sides over what a board's own meter sees: energy while its agent runs, and above its idle draw over that time.
const simUpEnergy = simPer.reduce((x, b) => x + b.upJ, 0)
const simAbove = simPer.reduce((x, b) => x + b.aboveJ, 0)
const liveAbove = livePer.reduce((x, b) => x + b.aboveJ, 0)
const within = (v: number, b: number): boolean => b > 0 && v / b >= 0.8 && v / b <= 1.2
report('sim-vs-live', [
  figure({ figure: 'p50_ms', value: sim.p50_ms, unit: 'ms', baseline: `live wisp start (${policy}, ${work} handler, receipt total_ms)`, baseline_value: liveP50, goal, met: within(sim.p50_ms, liveP50) }),
  figure({ figure: 'p99_ms', value: sim.p99_ms, unit: 'ms', baseline: `live wisp start (${policy}, ${work} handler, receipt total_ms)`, baseline_value: liveP99, goal, met: within(sim.p99_ms, liveP99) }),
  figure({ figure: 'energy_j', value: simUpEnergy, unit: 'J', baseline: 'live wisp start (gossiped energy_j deltas, 4 boards; simulator: energy while each agent runs)', baseline_value: liveEnergy, goal, met: within(simUpEnergy, liveEnergy) }),
  // The part of the energy that depends on the work: above each board's idle draw over the time its agent ran.
  figure({ figure: 'energy_above_idle_j', value: simAbove, unit: 'J', baseline: `live wisp start (Σ per board: gossiped energy_j − idle_w × time its agent ran; ${work} handler, simulator cpuShare ${cpuShare})`, baseline_value: liveAbove, goal, met: within(simAbove, liveAbove) })
], { live_invocations: rec.length, live_failed: rec.length - okRecs.length, sim_lost: sim.lost, sim_rejected: sim.rejected, sim_total_energy_j: sim.energy_j, runtime_cpu: runtimeCpu, sim_boots: simPer.map((b) => b.boots) }, a.out)
