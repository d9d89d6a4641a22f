import { jainIndex } from '../leader/policies/candidates.js'

/** Latencies in log-spaced buckets (0.5 % wide) from 0.01 ms: exact enough for p50/p99, constant memory for millions of invocations. */
export class LatencyHistogram {
  private static readonly BASE = Math.log(1.005)
  private readonly buckets = new Float64Array(6000)
  count = 0

  add (ms: number): void {
    const i = ms <= 0.01 ? 0 : Math.min(this.buckets.length - 1, Math.floor(Math.log(ms / 0.01) / LatencyHistogram.BASE))
    this.buckets[i] = (this.buckets[i] ?? 0) + 1
    this.count++
  }

  quantile (q: number): number {
    if (this.count === 0) return 0
    const want = q * this.count
    let seen = 0
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i] ?? 0
      if (seen >= want) return 0.01 * Math.exp((i + 0.5) * LatencyHistogram.BASE)
    }
    return Infinity
  }
}

/** One policy set's figures, exactly the fields of the simulate report. */
export interface PolicyFigures {
  p50_ms: number
  p90_ms: number
  p99_ms: number
  mean_slowdown: number
  /** 99th percentile of per-invocation slowdown (latency ÷ the run's own time at reference speed). */
  p99_slowdown: number
  /** The largest per-function mean slowdown (latency ÷ the run's own time at reference speed). */
  worst_fn_slowdown: number
  /** Jain's index of the per-function mean slowdowns. */
  jain: number
  cold_starts: number
  energy_j: number
  /** Energy of powered boards while running nothing (on or draining; not booting or shutting down). */
  idle_energy_j: number
  boot_energy_j: number
  /** Energy of boards shutting down before their relay opens (with boot energy, the cost of gating). */
  shutdown_energy_j: number
  board_hours: number
  rejected: number
  lost: number
  invocations: number
  /** Invocations that finished (invocations − rejected − lost). */
  completed: number
  /** Idle + boot + shutdown energy: everything spent while not running an invocation. */
  energy_not_serving_j: number
  /** Total energy ÷ completed invocations. */
  energy_per_inv_j: number
}

/** Figures computed from the others (not measured by the simulator). */
type Derived = 'p50_ms' | 'p90_ms' | 'p99_ms' | 'mean_slowdown' | 'p99_slowdown' | 'worst_fn_slowdown' | 'jain' | 'completed' | 'energy_not_serving_j' | 'energy_per_inv_j'

export interface SimReport {
  trace: string
  seeds: number[]
  boards: string[]
  /** The day's mean offered utilisation. */
  utilisation: number
  /** Offered utilisation in the busiest 10 minutes. */
  peak_utilisation: number
  /** The rate scale applied to every per-minute count. */
  scale: number
  /** The cold-start cost the run used (ms at reference speed): an input, so two reports that differ say whether it did. */
  cold_ms: number
  policies: Record<string, PolicyFigures>
}

export const figures = (h: LatencyHistogram, slowSum: Float64Array, slowN: Float64Array, slowHist: LatencyHistogram, rest: Omit<PolicyFigures, Derived>): PolicyFigures => {
  const perFn: number[] = []
  let all = 0
  let n = 0
  for (let i = 0; i < slowSum.length; i++) {
    const k = slowN[i] ?? 0
    if (k > 0) { perFn.push((slowSum[i] ?? 0) / k); all += slowSum[i] ?? 0; n += k }
  }
  const completed = rest.invocations - rest.rejected - rest.lost
  return {
    p50_ms: h.quantile(0.5),
    p90_ms: h.quantile(0.9),
    p99_ms: h.quantile(0.99),
    mean_slowdown: n === 0 ? 0 : all / n,
    p99_slowdown: slowHist.quantile(0.99),
    worst_fn_slowdown: perFn.length === 0 ? 0 : Math.max(...perFn),
    jain: jainIndex(perFn),
    ...rest,
    completed,
    energy_not_serving_j: rest.idle_energy_j + rest.boot_energy_j + rest.shutdown_energy_j,
    energy_per_inv_j: completed > 0 ? rest.energy_j / completed : 0
  }
}

/** Mean of each figure over several seeded runs of one set. */
export const meanFigures = (runs: readonly PolicyFigures[]): PolicyFigures => {
  const out = { ...runs[0] } as Record<string, number>
  for (const k of Object.keys(out)) out[k] = runs.reduce((s, r) => s + (r as unknown as Record<string, number>)[k]!, 0) / runs.length
  return out as unknown as PolicyFigures
}

const fmt = (x: number, d = 1): string => (Math.abs(x) >= 1e5 ? x.toExponential(2) : x.toFixed(d))

/** A fixed-width table, one row per policy set. */
export const formatTable = (r: SimReport): string => {
  const cols: Array<[string, (f: PolicyFigures) => string]> = [
    ['p50 ms', (f) => fmt(f.p50_ms)], ['p90 ms', (f) => fmt(f.p90_ms)], ['p99 ms', (f) => fmt(f.p99_ms)], ['slowdown', (f) => fmt(f.mean_slowdown, 2)], ['worst fn', (f) => fmt(f.worst_fn_slowdown, 2)],
    ['jain', (f) => fmt(f.jain, 3)], ['cold', (f) => String(Math.round(f.cold_starts))], ['energy J', (f) => fmt(f.energy_j, 0)],
    ['not serving J', (f) => fmt(f.energy_not_serving_j, 0)], ['J/inv', (f) => fmt(f.energy_per_inv_j, 3)], ['board h', (f) => fmt(f.board_hours, 2)],
    ['rejected', (f) => String(Math.round(f.rejected))], ['lost', (f) => String(Math.round(f.lost))], ['invocations', (f) => String(Math.round(f.invocations))]
  ]
  const rows = [['policy', ...cols.map((c) => c[0])], ...Object.entries(r.policies).map(([n, f]) => [n, ...cols.map((c) => c[1](f))])]
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  const head = `trace ${r.trace} · seeds ${r.seeds.join(',')} · ${r.boards.length} boards · offered utilisation ${(100 * r.peak_utilisation).toFixed(1)} % at peak (busiest 10 min), ${(100 * r.utilisation).toFixed(1)} % mean`
  return [head, ...rows.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  '))].join('\n')
}
