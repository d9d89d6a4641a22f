import { testCluster } from '../helpers/cluster.js'
import { runFaults } from '../helpers/fault-run.js'
import { measureNoisy, type LightPhase } from '../helpers/noisy.js'
import { figure, info, report, type Figure } from './lib/figures.js'
import { runOverload } from './lib/overload-run.js'

// Reliability under faults, overload and noisy neighbours, on real processes on this host.
const SECONDS = Number(process.env.WISP_RELIABILITY_S ?? 60)
const OVERLOAD_S = Number(process.env.WISP_OVERLOAD_S ?? 30)
const figures: Figure[] = []
const log = (s: string): void => { console.log(s) }

// 1. Faults: kill -9 a board, SIGSTOP one 5 s, kill -9 + restart the gateway, drop a board's TCP.
const f = await runFaults({ seconds: SECONDS, rate: 10, seed: 7, log })
log(JSON.stringify(f, null, 1))
figures.push(figure({ figure: `faults: requests lost (${f.stats.sent} sent over ${SECONDS} s, 4 faults)`, value: f.stats.lost, unit: 'requests', baseline: null, baseline_value: null, goal: '= 0', met: f.stats.lost === 0, failures: f.stats.lost }))
figures.push(figure({ figure: 'faults: duplicate replies', value: f.stats.duplicates, unit: 'replies', baseline: null, baseline_value: null, goal: '= 0', met: f.stats.duplicates === 0 }))
figures.push(figure({ figure: 'faults: errors that are not WISP_* codes', value: f.stats.foreign, unit: 'replies', baseline: null, baseline_value: null, goal: '= 0', met: f.stats.foreign === 0 }))
for (const x of f.faults) {
  figures.push(info({ figure: `faults: ${x.kind} p50 in the 5 s after`, value: x.during.p50Ms, unit: 'ms', baseline: 'p50 before any fault', baseline_value: f.baseline.p50Ms }))
  figures.push(info({ figure: `faults: ${x.kind} p99 in the 5 s after`, value: x.during.p99Ms, unit: 'ms', baseline: 'p99 before any fault', baseline_value: f.baseline.p99Ms }))
  figures.push(info({ figure: `faults: ${x.kind} p50 5-10 s after`, value: x.after.p50Ms, unit: 'ms', baseline: 'p50 before any fault', baseline_value: f.baseline.p50Ms }))
  figures.push(info({ figure: `faults: ${x.kind} p99 5-10 s after`, value: x.after.p99Ms, unit: 'ms', baseline: 'p99 before any fault', baseline_value: f.baseline.p99Ms }))
  figures.push(figure({ figure: `faults: ${x.kind} time to recover`, value: x.recoverMs, unit: 'ms', baseline: null, baseline_value: null, goal: '< 10000', met: x.recoverMs < 10_000 }))
}

// 2. Overload: 10× capacity for OVERLOAD_S, then a 2,000 burst; every request answered. The client
// runs in a process of its own (lib/overload-process.ts), so this process's RSS is the gateway's.
{
  const c = await testCluster({ boards: 4, policy: 'wisp-no-gate' })
  try {
    const o = await runOverload(c, OVERLOAD_S)
    const r = o.report; const grown = o.grownMb; const boardGrowth = o.boardGrowthMb
    log(JSON.stringify({ ...r, grown, boardGrowth }))
    const s = r.over
    figures.push(figure({ figure: `overload 10x for ${OVERLOAD_S} s: requests unanswered (${s.sent} sent at ${r.rate.toFixed(0)}/s)`, value: s.lost, unit: 'requests', baseline: null, baseline_value: null, goal: '= 0', met: s.lost === 0 && s.foreign === 0, failures: s.lost + s.foreign }))
    const tmo = (s.codes.WISP_TIMEOUT ?? 0) / Math.max(1, s.sent) * 100
    figures.push(figure({ figure: 'overload 10x: WISP_TIMEOUT share', value: tmo, unit: '%', baseline: null, baseline_value: null, goal: '<= 1', met: tmo <= 1, failures: s.codes.WISP_TIMEOUT ?? 0 }))
    figures.push(info({ figure: 'overload 10x: WISP_OVERLOADED share (refused at once, by design)', value: (s.codes.WISP_OVERLOADED ?? 0) / Math.max(1, s.sent) * 100, unit: '%', baseline: null, baseline_value: null }))
    // No request sent 4-5 s after the end was answered (or none could be sent then): the figure
    // is missing, -1, and the goal is not met (an empty window must not read as 0 ms).
    const sampled = (x: number | null): number => typeof x === 'number' && Number.isFinite(x) ? x : -1
    figures.push(info({ figure: 'overload 10x: p50 4-5 s after it ends (-1: no reply sampled in the window)', value: sampled(r.p50At5s), unit: 'ms', baseline: 'p50 before', baseline_value: r.p50Before }))
    figures.push(figure({ figure: 'overload 10x: p99 4-5 s after it ends (-1: no reply sampled in the window)', value: sampled(r.p99At5s), unit: 'ms', baseline: 'p99 before', baseline_value: r.p99Before, goal: '<= 1.5x baseline', met: sampled(r.p99At5s) >= 0 && r.p99At5s <= 1.5 * r.p99Before }))
    figures.push(figure({ figure: 'overload 10x: gateway (broker + leader) RSS growth, client in its own process', value: grown, unit: 'MB', baseline: null, baseline_value: null, goal: '< 50', met: grown < 50 }))
    figures.push(info({ figure: 'overload 10x: gateway V8 heap (heapTotal) growth', value: o.after.heapTotal - o.before.heapTotal, unit: 'MB', baseline: null, baseline_value: null }))
    figures.push(figure({ figure: 'overload 10x: largest board RSS growth', value: boardGrowth, unit: 'MB', baseline: null, baseline_value: null, goal: '< 50', met: boardGrowth < 50 }))
    const b = r.burst
    figures.push(figure({ figure: 'burst of 2,000: requests unanswered', value: b.lost, unit: 'requests', baseline: null, baseline_value: null, goal: '= 0', met: b.lost === 0 && b.duplicates === 0 && b.foreign === 0, failures: b.lost + b.duplicates + b.foreign }))
    figures.push(figure({ figure: 'burst of 2,000: WISP_OVERLOADED median latency', value: r.refusedMedianMs, unit: 'ms', baseline: 'before the fix, from the issue report (not measured in this run)', baseline_value: 6400, goal: '< 3000', met: r.refusedMedianMs < 3000 }))
    const btmo = (b.codes.WISP_TIMEOUT ?? 0) / 2000 * 100
    figures.push(figure({ figure: 'burst of 2,000: WISP_TIMEOUT share', value: btmo, unit: '%', baseline: null, baseline_value: null, goal: '<= 1', met: btmo <= 1, failures: b.codes.WISP_TIMEOUT ?? 0 }))
  } finally { await c.close() }
}

// 3. Noisy neighbours.
{
  const c = await testCluster({ boards: 2, policy: 'wisp-no-gate' })
  try {
    const r = await measureNoisy(c.cluster.gateway, c.url, 60)
    log(JSON.stringify(r))
    const light = (name: string, x: LightPhase): void => {
      figures.push(info({ figure: `noisy neighbour: light p50 ${name}`, value: x.p50, unit: 'ms', baseline: 'light alone', baseline_value: r.alone.p50 }))
      figures.push(figure({ figure: `noisy neighbour: light p99 ${name}`, value: x.p99, unit: 'ms', baseline: 'light alone', baseline_value: r.alone.p99, goal: '<= 2x baseline', met: x.p99 <= 2 * r.alone.p99 && x.errors === 0, failures: x.errors }))
      figures.push(info({ figure: `noisy neighbour: light p99 board queue time ${name}`, value: x.queueP99, unit: 'ms', baseline: 'light alone', baseline_value: r.alone.queueP99 }))
      figures.push(info({ figure: `noisy neighbour: light p99 run time ${name}`, value: x.runP99, unit: 'ms', baseline: 'light alone', baseline_value: r.alone.runP99 }))
      figures.push(info({ figure: `noisy neighbour: light p99 at the gateway (leader took the invoke to its reply) ${name}`, value: x.gatewayP99, unit: 'ms', baseline: 'light alone', baseline_value: r.alone.gatewayP99 }))
      figures.push(info({ figure: `noisy neighbour: light p99 outside the gateway (client to leader and back) ${name}`, value: x.outsideP99, unit: 'ms', baseline: 'light alone', baseline_value: r.alone.outsideP99 }))
    }
    figures.push(info({ figure: 'noisy neighbour: light p50 alone', value: r.alone.p50, unit: 'ms', baseline: null, baseline_value: null, failures: r.alone.errors }))
    figures.push(info({ figure: 'noisy neighbour: light p99 alone', value: r.alone.p99, unit: 'ms', baseline: null, baseline_value: null, failures: r.alone.errors }))
    light('beside a slot hog (every run slot held, no CPU used)', r.withSlots)
    light('beside a CPU hog', r.withCpu)
    light('beside a memory hog', r.withMem)
  } finally { await c.close() }
}

report('reliability', figures)
