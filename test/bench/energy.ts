/**
 * Energy attribution benchmark: a simulated board (register-level INA219 at the profile's
 * sample rate) runs a mixed concurrent workload whose true per-invocation energy is known
 * from a non-linear power model with per-function intensity. Compares the attribution the
 * agent gets (learned intensities) with CPU-time-only attribution on the same samples, and
 * breaks the per-invocation error down by function, by duration and by how far into the run
 * the invocation started (the model is still learning early on). Writes bench/results/energy.json.
 *
 * The headline truth has the estimator's own functional form, so its figures are parameter
 * recovery. The same workload is then run against truths of other forms (memory-bound power,
 * DVFS steps) with the INA219's datasheet offset, gain error and noise on the meter, which is
 * what attribution accuracy means on a real board. WISP_BENCH_DURATION_S shortens the runs.
 */
import { errors, runWorkload, TRUTHS, INA219_DATASHEET, type Truth } from '../node-firmware-bridge/workload.js'
import { writeResult, type Figure } from './lib/figures.js'

const SEEDS = [1, 2, 3]
const DURATION_MS = Number(process.env.WISP_BENCH_DURATION_S ?? 180) * 1000

const runs = []
for (const seed of SEEDS) runs.push(await runWorkload({ seed, durationMs: DURATION_MS }))

const all = runs.flatMap((r) => r.invocations)
const learned = errors(all, (i) => i.attributedJ)
const naive = errors(all, (i) => i.baselineJ)
const measured = runs.reduce((a, r) => a + r.ledger.measuredJ, 0)
const conservation = runs.reduce((a, r) => a + Math.abs(r.ledger.attributedJ + r.ledger.unattributedIdleJ - r.ledger.measuredJ), 0) / measured
const meterError = runs.reduce((a, r) => a + Math.abs(r.ledger.measuredJ - r.trueTotalJ), 0) / runs.reduce((a, r) => a + r.trueTotalJ, 0)

const round = (x: number): number => Math.round(x * 1e6) / 1e6

/** Per-invocation MAE and mean signed error of a group, learned and CPU-time-only. */
const group = (rs: typeof all) => {
  const bias = (pick: (i: (typeof all)[number]) => number): number => rs.reduce((a, i) => a + (pick(i) - i.trueJ) / i.trueJ, 0) / Math.max(1, rs.length)
  return {
    invocations: rs.length,
    mae: round(errors(rs, (i) => i.attributedJ).perInvocation),
    bias: round(bias((i) => i.attributedJ)),
    baseline_mae: round(errors(rs, (i) => i.baselineJ).perInvocation)
  }
}
const DURATIONS: ReadonlyArray<readonly [number, number]> = [[0, 100], [100, 300], [300, 800], [800, Infinity]]
const PHASES: ReadonlyArray<readonly [number, number]> = [[0, 10_000], [10_000, 60_000], [60_000, Infinity]]
const label = ([a, b]: readonly [number, number]): string => b === Infinity ? `>=${a}` : `${a}-${b}`
const breakdown = {
  by_function: Object.fromEntries([...new Set(all.map((i) => i.fn))].map((fn) => [fn, group(all.filter((i) => i.fn === fn))])),
  by_wall_ms: Object.fromEntries(DURATIONS.map((d) => [label(d), group(all.filter((i) => i.wallMs >= d[0] && i.wallMs < d[1]))])),
  by_start_ms: Object.fromEntries(PHASES.map((d) => [label(d), group(all.filter((i) => i.startMs >= d[0] && i.startMs < d[1]))]))
}
const figure = (name: string, value: number, unit: string, goal: string, ok: boolean, baseline: string | null = null, baselineValue: number | null = null): Figure => ({
  figure: name,
  value: round(value),
  unit,
  baseline,
  baseline_value: baselineValue === null ? null : round(baselineValue),
  ratio: baselineValue === null || baselineValue === 0 ? null : round(value / baselineValue),
  goal,
  met: ok
})

// Other functional forms, with the meter's datasheet errors.
const other: Figure[] = []
const byTruth: Record<string, unknown> = {}
for (const truth of TRUTHS.filter((t): t is Exclude<Truth, 'estimator'> => t !== 'estimator')) {
  const rs = []
  for (const seed of SEEDS) rs.push(await runWorkload({ seed, durationMs: DURATION_MS, truth, meterErrors: true }))
  const inv = rs.flatMap((r) => r.invocations)
  const l = errors(inv, (i) => i.attributedJ)
  const n = errors(inv, (i) => i.baselineJ)
  const meter = rs.reduce((a, r) => a + Math.abs(r.ledger.measuredJ - r.trueTotalJ), 0) / rs.reduce((a, r) => a + r.trueTotalJ, 0)
  other.push(
    figure(`attribution_mae_energy_weighted, ${truth} truth, INA219 errors`, l.weighted, 'fraction', '<= 0.05', l.weighted <= 0.05, 'cpu-time-only attribution', n.weighted),
    figure(`attribution_mae_per_invocation, ${truth} truth, INA219 errors`, l.perInvocation, 'fraction', '<= 0.05', l.perInvocation <= 0.05, 'cpu-time-only attribution', n.perInvocation),
    { ...figure(`meter_total_error, ${truth} truth, INA219 errors`, meter, 'fraction', 'informational', true), met: null }
  )
  byTruth[truth] = { invocations: inv.length, by_function: Object.fromEntries([...new Set(inv.map((i) => i.fn))].map((fn) => [fn, group(inv.filter((i) => i.fn === fn))])) }
}

const figures = [
  figure('parameter recovery: attribution_mae_energy_weighted (truth has the estimator\'s form)', learned.weighted, 'fraction', '<= 0.05', learned.weighted <= 0.05, 'cpu-time-only attribution', naive.weighted),
  figure('parameter recovery: attribution_mae_per_invocation (truth has the estimator\'s form)', learned.perInvocation, 'fraction', '<= 0.05', learned.perInvocation <= 0.05, 'cpu-time-only attribution', naive.perInvocation),
  figure('conservation_error', conservation, 'fraction', '<= 0.01', conservation <= 0.01),
  figure('meter_total_error', meterError, 'fraction', '<= 0.01', meterError <= 0.01),
  ...other
]
const result = writeResult('energy', figures, {
  workload: { seeds: SEEDS, duration_s: DURATION_MS / 1000, invocations: all.length, profile: 'raspberry-pi-4b', functions: ['resize', 'hash', 'kv-scan', 'fetch-json'], cpu_time_noise: 0.1 },
  truths: { headline: 'estimator (parameter recovery)', others: TRUTHS.filter((t) => t !== 'estimator'), meter_errors: INA219_DATASHEET },
  per_invocation_error: breakdown,
  per_invocation_error_other_truths: byTruth
})
for (const [k, v] of Object.entries(breakdown)) for (const [g, e] of Object.entries(v)) console.log(`${k} ${g}: n=${e.invocations} mae ${e.mae} bias ${e.bias} (cpu-time-only ${e.baseline_mae})`)
for (const f of result.figures) console.log(`${f.figure}: ${f.value} ${f.unit} (goal ${f.goal}, ${f.met === null ? 'informational' : f.met ? 'met' : 'NOT met'})${f.baseline === null ? '' : ` vs ${f.baseline} ${f.baseline_value}, ratio ${f.ratio}`}`)
