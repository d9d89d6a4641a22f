import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateTrace } from '../../runtime/sim/trace-gen.js'
import { parseTrace } from '../../runtime/sim/trace.js'
import { parseBoardSpec, scaleForUtilisation } from '../../runtime/sim/run.js'
import { simulate, SIM_DEFAULTS } from '../../runtime/sim/simulator.js'
import { createPolicySet } from '../../runtime/leader/policies/policy-sets.js'
import { energyInWindow, expandInvocations, quantile, upTimeInWindow } from '../../runtime/sim/replay-live.js'

const d = mkdtempSync(join(tmpdir(), 'wisp-replay-'))
t.teardown(() => rmSync(d, { recursive: true, force: true }))
generateTrace(d, { functions: 8, minutes: 30, seed: 3, perMinute: 40 })
const trace = parseTrace(d, { window: [11, 14] })
const boards = parseBoardSpec('raspberry-pi-4b,raspberry-pi-zero-2w,banana-pi-m2-zero,orange-pi-zero3')
const scale = scaleForUtilisation(trace, boards, 0.1)

t.test('the replay list is the simulator\'s own invocations: same count, same arrival times, same functions', async (t) => {
  const seed = 11
  const list = expandInvocations(trace, seed, scale)
  const arrivals: Array<{ at: number, fn: string }> = []
  const r = simulate({
    ...SIM_DEFAULTS, trace, boards, policies: createPolicySet('wisp-no-gate'), seed, scale,
    onDecision: (dec) => { if (dec.kind === 'balance') arrivals.push({ at: dec.at, fn: dec.fn ?? '' }) }
  })
  t.equal(list.length, r.invocations)
  t.equal(arrivals.length, list.length)
  t.ok(list.every((inv, i) => inv.t === arrivals[i]?.at && trace.fns[inv.fn]?.name === arrivals[i]?.fn), 'arrival for arrival')
  t.ok(list.every((inv) => inv.durRef > 0))
  t.not(expandInvocations(trace, seed + 1, scale)[0]?.t, list[0]?.t, 'another seed, other arrivals')
})

t.test('energy in a window: pro rata deltas per incarnation, nothing across a restart', async (t) => {
  const e = new Map([['b1', [
    { at: 0, incarnation: 'a', energyJ: 0, powerW: 1 }, { at: 1000, incarnation: 'a', energyJ: 2, powerW: 1 },
    { at: 2000, incarnation: 'b', energyJ: 0, powerW: 1 }, { at: 3000, incarnation: 'b', energyJ: 4, powerW: 1 }
  ]]])
  t.equal(energyInWindow(e, 500, 3000).get('b1'), 1 + 4)
  t.equal(upTimeInWindow(e, 500, 3000).get('b1'), 500 + 1000, 'the metered time: within the window, not across the restart')
  t.equal(quantile([5, 1, 3, 2, 4], 0.5), 3)
  t.equal(quantile([5, 1, 3, 2, 4], 0.99), 5)
})
