import { testCluster } from '../helpers/cluster.js'
import { runFaults } from '../helpers/fault-run.js'
import { LoadClient, quantile, rssMb } from '../helpers/load.js'
import { measureNoisy } from '../helpers/noisy.js'
import { figure, report, type Figure } from './lib/figures.js'

// Reliability under faults, overload and noisy neighbours, on real processes on this host.
const SECONDS = Number(process.env.WISP_RELIABILITY_S ?? 60)
const OVERLOAD_S = Number(process.env.WISP_OVERLOAD_S ?? 30)
const figures: Figure[] = []
const log = (s: string): void => { console.log(s) }

// 1. Faults: kill -9 a board, SIGSTOP one 5 s, kill -9 + restart the gateway, drop a board's TCP.
const f = await runFaults({ seconds: SECONDS, rate: 10, seed: 7, log })
log(JSON.stringify(f, null, 1))
figures.push(figure({ figure: `faults: requests lost (${f.stats.sent} sent over ${SECONDS} s, 4 faults)`, value: f.stats.lost, unit: 'requests', baseline: null, baseline_value: null, goal: '= 0', met: f.stats.lost === 0 }))
figures.push(figure({ figure: 'faults: duplicate replies', value: f.stats.duplicates, unit: 'replies', baseline: null, baseline_value: null, goal: '= 0', met: f.stats.duplicates === 0 }))
figures.push(figure({ figure: 'faults: errors that are not WISP_* codes', value: f.stats.foreign, unit: 'replies', baseline: null, baseline_value: null, goal: '= 0', met: f.stats.foreign === 0 }))
for (const x of f.faults) {
  figures.push(figure({ figure: `faults: ${x.kind} p99 in the 5 s after`, value: x.during.p99Ms, unit: 'ms', baseline: 'p99 before any fault', baseline_value: f.baseline.p99Ms, goal: 'reported', met: true }))
  figures.push(figure({ figure: `faults: ${x.kind} p99 5-10 s after`, value: x.after.p99Ms, unit: 'ms', baseline: 'p99 before any fault', baseline_value: f.baseline.p99Ms, goal: 'reported', met: true }))
  figures.push(figure({ figure: `faults: ${x.kind} time to recover`, value: x.recoverMs, unit: 'ms', baseline: null, baseline_value: null, goal: '< 10000', met: x.recoverMs < 10_000 }))
}

// 2. Overload: 10× capacity for OVERLOAD_S, then a 2,000 burst; every request answered.
{
  const c = await testCluster({ boards: 4, policy: 'wisp-no-gate' })
  const load = await LoadClient.connect(c.url, 'over')
  try {
    for (let i = 0; i < 40; i++) load.send('primes', { n: 20000 })
    await load.settle(30_000)
    // Capacity: completions per second with 64 kept in flight for 5 s.
    const cap0 = performance.now()
    const capIds = new Set<string>()
    while (performance.now() - cap0 < 5000) {
      while ([...capIds].filter((id) => (load.outcomes.get(id)?.replies.length ?? 0) === 0).length < 64) capIds.add(load.send('primes', { n: 20000 }))
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    await load.settle(30_000)
    const capacity = [...capIds].filter((id) => load.outcomes.get(id)?.replies[0]?.ok === true).length / 5
    const calm = new Set<string>()
    for (let i = 0; i < 40; i++) { calm.add(load.send('primes', { n: 20000 })); await new Promise((resolve) => setTimeout(resolve, 50)) }
    await load.settle(10_000)
    const p99Before = load.stats((o) => calm.has(o.id)).p99Ms
    const rss0 = process.memoryUsage().rss / 2 ** 20
    const boards0 = await Promise.all(c.cluster.boards.map(async (b) => await rssMb(b.pid as number)))
    const rate = capacity * 10
    const over = new Set<string>()
    const t0 = performance.now()
    for (let i = 0; performance.now() - t0 < OVERLOAD_S * 1000; i++) {
      const wait = t0 + (i / rate) * 1000 - performance.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      over.add(load.send('primes', { n: 20000 }))
    }
    const ended = performance.now()
    const after = new Set<string>()
    for (let i = 0; i < 100; i++) { after.add(load.send('primes', { n: 20000 })); await new Promise((resolve) => setTimeout(resolve, 50)) }
    await load.settle(60_000)
    const s = load.stats((o) => over.has(o.id))
    const firstFiveS = [...load.outcomes.values()].filter((o) => after.has(o.id) && o.sentAt - ended <= 5000 && o.sentAt - ended > 4000).map((o) => (o.replies[0]?.at ?? Infinity) - o.sentAt)
    const p99At5s = quantile(firstFiveS, 0.99)
    const grown = process.memoryUsage().rss / 2 ** 20 - rss0
    const boards1 = await Promise.all(c.cluster.boards.map(async (b) => await rssMb(b.pid as number)))
    const boardGrowth = Math.max(...boards1.map((r, i) => r - (boards0[i] ?? 0)))
    log(JSON.stringify({ capacity, rate, stats: s, p99Before, p99At5s, grown, boardGrowth }))
    figures.push(figure({ figure: `overload 10x for ${OVERLOAD_S} s: requests unanswered (${s.sent} sent at ${rate.toFixed(0)}/s)`, value: s.lost, unit: 'requests', baseline: null, baseline_value: null, goal: '= 0', met: s.lost === 0 && s.foreign === 0 }))
    const tmo = (s.codes.WISP_TIMEOUT ?? 0) / Math.max(1, s.sent) * 100
    figures.push(figure({ figure: 'overload 10x: WISP_TIMEOUT share', value: tmo, unit: '%', baseline: null, baseline_value: null, goal: '<= 1', met: tmo <= 1 }))
    figures.push(figure({ figure: 'overload 10x: p99 4-5 s after it ends', value: p99At5s, unit: 'ms', baseline: 'p99 before', baseline_value: p99Before, goal: '<= 1.5x baseline', met: p99At5s <= 1.5 * p99Before }))
    figures.push(figure({ figure: 'overload 10x: gateway RSS growth', value: grown, unit: 'MB', baseline: null, baseline_value: null, goal: '< 50', met: grown < 50 }))
    figures.push(figure({ figure: 'overload 10x: largest board RSS growth', value: boardGrowth, unit: 'MB', baseline: null, baseline_value: null, goal: '< 50', met: boardGrowth < 50 }))

    // The burst.
    await new Promise<void>((resolve) => { const w = (): void => { if (c.cluster.gateway.leader.inflightCount() === 0) resolve(); else setTimeout(w, 50) }; w() })
    const burst = new Set<string>()
    for (let i = 0; i < 2000; i++) burst.add(load.send('primes', { n: 20000 }))
    await load.settle(90_000)
    const b = load.stats((o) => burst.has(o.id))
    const refused = [...load.outcomes.values()].filter((o) => burst.has(o.id) && o.replies[0]?.code === 'WISP_OVERLOADED').map((o) => (o.replies[0]?.at ?? 0) - o.sentAt)
    log(JSON.stringify({ burst: b, refusedMedianMs: quantile(refused, 0.5) }))
    figures.push(figure({ figure: 'burst of 2,000: requests unanswered', value: b.lost, unit: 'requests', baseline: null, baseline_value: null, goal: '= 0', met: b.lost === 0 && b.duplicates === 0 && b.foreign === 0 }))
    figures.push(figure({ figure: 'burst of 2,000: WISP_OVERLOADED median latency', value: quantile(refused, 0.5), unit: 'ms', baseline: 'before (issue report)', baseline_value: 6400, goal: '< 3000', met: quantile(refused, 0.5) < 3000 }))
    const btmo = (b.codes.WISP_TIMEOUT ?? 0) / 2000 * 100
    figures.push(figure({ figure: 'burst of 2,000: WISP_TIMEOUT share', value: btmo, unit: '%', baseline: null, baseline_value: null, goal: '<= 1', met: btmo <= 1 }))
  } finally { await load.close(); await c.close() }
}

// 3. Noisy neighbours.
{
  const c = await testCluster({ boards: 2, policy: 'wisp-no-gate' })
  try {
    const r = await measureNoisy(c.cluster.gateway, c.url, 60)
    log(JSON.stringify(r))
    figures.push(figure({ figure: 'noisy neighbour: light p99 beside a CPU hog', value: r.withCpu.p99, unit: 'ms', baseline: 'light alone', baseline_value: r.alone.p99, goal: '<= 2x baseline', met: r.withCpu.p99 <= 2 * r.alone.p99 }))
    figures.push(figure({ figure: 'noisy neighbour: light p99 beside a memory hog', value: r.withMem.p99, unit: 'ms', baseline: 'light alone', baseline_value: r.alone.p99, goal: '<= 2x baseline', met: r.withMem.p99 <= 2 * r.alone.p99 }))
  } finally { await c.close() }
}

report('reliability', figures)
