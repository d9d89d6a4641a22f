/**
 * Green FaaS: a whole simulated day on the evaluation's 8-board cluster under an hourly grid
 * carbon intensity, 30 % of invocations deferrable with deadlines. The carbon-aware wisp (the
 * shared deferral policy: runtime/leader/policies/green.ts) against the carbon-blind `wisp` set,
 * and an offline oracle. Held-out days only (the evaluation's whole-day seeds); `--tuning` runs
 * the tuning days instead and writes nothing.
 *
 * Oracle (a lower bound of carbon, so an upper bound of the saving): every deferrable run of the
 * carbon-blind day moved, with the same marginal energy (its busy cores' power above idle × its
 * service time), to the least-intensity time between its arrival and its deadline less its
 * service time. Capacity is ignored, so it is the optimum of the LP relaxation (the problem is
 * separable per run without capacity: greedy = LP optimum). Idle and boot energy are left where
 * the blind day put them. The judged saving is the whole cluster's (idle, boot and runs, carbon
 * integrated per minute): the aware day also keeps fewer boards on at night, which the oracle
 * does not model, so the informational "deferrable runs (marginal energy)" figure, set against
 * the same oracle, shows the share of the ideal shift the deferral itself achieved.
 *
 * Carbon intensity: the hourly shape of a spring weekday of the California ISO grid (the solar
 * "duck": gas-heavy nights and evening ramp, a solar trough at midday), read from CAISO's "Today's
 * Outlook" emissions page (https://www.caiso.com/todays-outlook/emissions, CO2 emissions rate in
 * mTCO2/MWh = kgCO2/kWh ×1000 here), rounded to 5 g/kWh. A representative shape, not one
 * specific day's published series.
 *
 * Bit-repeatable (test/sim/green-repeatable.test.ts): the days and figures are computed in
 * lib/green-day.ts from the seeds and the frozen parameters there only (the cold start included).
 */
import { GREEN_DEFAULTS } from '../../runtime/leader/policies/green.js'
import { CAISO_SPRING_DAY, GREEN_BENCH, greenFigures, runDay } from './lib/green-day.js'
import { report } from './lib/figures.js'

export { CAISO_SPRING_DAY, GREEN_BENCH }

const tuning = process.argv.includes('--tuning')
const seeds: readonly number[] = tuning ? GREEN_BENCH.tuningSeeds.slice(0, Number(process.env.WISP_BENCH_GREEN_DAYS ?? 3)) : GREEN_BENCH.heldOutSeeds
const days = seeds.map((seed, i) => {
  const t0 = performance.now()
  return runDay(seed, i, undefined, (line) => { console.error(`${line} (${((performance.now() - t0) / 1000).toFixed(0)} s into the day)`) })
})
const { figures, days: detail } = greenFigures(days)
const extra = { seeds, tuning, signal_g_per_kwh: CAISO_SPRING_DAY, params: { ...GREEN_BENCH, green: GREEN_DEFAULTS }, days: detail }
if (tuning) {
  console.table(figures.map((f) => ({ figure: f.figure, value: f.value, baseline: f.baseline_value, met: f.met })))
  console.log(JSON.stringify(extra.days, null, 1))
} else report('green', figures, extra)
