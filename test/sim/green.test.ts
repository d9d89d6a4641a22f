import t from 'tap'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateTrace } from '../../runtime/sim/trace-gen.js'
import { parseTrace } from '../../runtime/sim/trace.js'
import { DEFAULT_BOARDS, parseBoardSpec, scaleForUtilisation } from '../../runtime/sim/run.js'
import { simulate, SIM_DEFAULTS } from '../../runtime/sim/simulator.js'
import type { SimGreenFigures } from '../../runtime/sim/sim-green.js'
import { createPolicySet } from '../../runtime/leader/policies/policy-sets.js'
import { intensityAt, seriesSignal } from '../../runtime/leader/policies/carbon-signal.js'
import { withCap } from '../../runtime/leader/policies/power-cap.js'

const d = mkdtempSync(join(tmpdir(), 'wisp-sim-green-'))
generateTrace(d, { functions: 20, minutes: 40, seed: 4 })
const trace = parseTrace(d)
const boards = parseBoardSpec(DEFAULT_BOARDS)
const scale = scaleForUtilisation(trace, boards, 0.3)
const M = 60_000
// Dirty for the first 20 minutes, clean for the next 10, dirty again.
const signal = seriesSignal([{ at: 0, g: 400 }, { at: 20 * M, g: 50 }, { at: 30 * M, g: 400 }])

const run = (aware: boolean): SimGreenFigures => {
  let g: SimGreenFigures | undefined
  simulate({
    ...SIM_DEFAULTS, trace, boards, policies: createPolicySet('wisp'), seed: 1, scale,
    green: { signal, deferrableShare: 0.3, deadlineMs: [25 * M, 25 * M], aware, seed: 5 }, onGreen: (x) => { g = x }
  })
  if (g === undefined) throw new Error('no green figures')
  return g
}

t.test('the carbon-aware sim moves deferrable runs into the clean window, in time, and saves carbon', async (t) => {
  const blind = run(false)
  const aware = run(true)
  t.equal(aware.deferrable, blind.deferrable, 'the same invocations are deferrable either way')
  t.ok(aware.deferrable > 100, `${aware.deferrable} deferrable`)
  t.equal(aware.deadlines_met, aware.deferrable, 'every deadline met')
  const early = (g: SimGreenFigures): number => g.runs.filter((r) => r.arrival < 5 * M).length
  const inWindow = (g: SimGreenFigures): number => g.runs.filter((r) => r.arrival < 5 * M && intensityAt(signal, r.start) === 50).length
  t.equal(inWindow(blind), 0, 'carbon-blind: the early ones ran at once, at 400 g')
  t.ok(inWindow(aware) > 0.9 * early(aware), `aware: ${inWindow(aware)} of ${early(aware)} early arrivals ran in the clean window`)
  t.ok(aware.carbon_g < blind.carbon_g, `cluster carbon ${aware.carbon_g.toFixed(3)} g < ${blind.carbon_g.toFixed(3)} g`)
  t.same(run(true), aware, 'deterministic')
})

t.test('a power cap (demand response) is held by gating boards far more of the time than without it', async (t) => {
  const base = createPolicySet('wisp')
  const uncapped = run(false)
  const meanW = uncapped.energy_j / (trace.minutes * 60)
  const capW = 0.6 * meanW
  const cap = (now: number): number | null => now >= 10 * M && now < 35 * M ? capW : null
  const capped = (wrap: boolean, graceMs = 0): SimGreenFigures => {
    let g: SimGreenFigures | undefined
    simulate({
      ...SIM_DEFAULTS, trace, boards, policies: wrap ? { ...base, power: withCap(base.power, cap) } : createPolicySet('wisp'), seed: 1, scale,
      green: { signal, deferrableShare: 0.3, deadlineMs: [25 * M, 25 * M], aware: true, seed: 5, capW: cap, capGraceMs: graceMs }, onGreen: (x) => { g = x }
    })
    if (g === undefined) throw new Error('no green figures')
    return g
  }
  const without = capped(false)
  const within = capped(true)
  t.equal(within.cap_minutes, 25, 'the cap covered 25 minutes')
  t.equal(capped(true, 2 * M).cap_minutes, 23, 'its first 2 minutes (a grace of one decision interval) are not judged')
  const share = (g: SimGreenFigures): number => g.cap_held_minutes / g.cap_minutes
  t.ok(share(within) >= 0.8, `held ${(100 * share(within)).toFixed(0)} % of the time at ${capW.toFixed(1)} W`)
  t.ok(share(within) > share(without) + 0.2, `without the cap: ${(100 * share(without)).toFixed(0)} %`)
  // A cap this far below the demand costs capacity: deferrable work past its latest start and the rest queue longer (not asserted; see the report).
})
