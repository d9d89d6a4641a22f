import t from 'tap'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { generateTrace } from '../../runtime/sim/trace-gen.js'
import { parseTrace, peakWindow, type Trace } from '../../runtime/sim/trace.js'
import { parseBoardSpec, peakUtilisation, scaleForPeakUtilisation } from '../../runtime/sim/run.js'
import { simulate, SIM_DEFAULTS } from '../../runtime/sim/simulator.js'
import { createPolicySet } from '../../runtime/leader/policies/policy-sets.js'
import { registerSimulate } from '../../runtime/cli/commands/simulate.js'

const oneFn = (perMinute: number[], ms: number): Trace => ({
  name: 'x', minutes: perMinute.length, skipped: 0,
  fns: [{ name: 'f-a', hash: 'a', trigger: 'http', counts: Float64Array.from(perMinute), pcts: [ms, ms, ms, ms, ms, ms, ms], meanMs: ms }]
})

t.test('knative: buffered invocations count as concurrency for the KPA, and nothing is lost', async (t) => {
  const trace = oneFn([600, 3000, 3000, 600], 200)
  let maxSample = 0
  let maxReady = 0
  const f = simulate({
    ...SIM_DEFAULTS, trace, boards: parseBoardSpec('raspberry-pi-4b:1'), policies: createPolicySet('knative'), seed: 1, scale: 1,
    onDecision: (d) => { if (d.kind === 'scale') { maxSample = Math.max(maxSample, Number(d.inputs?.sample ?? 0)); maxReady = Math.max(maxReady, Number(d.inputs?.ready ?? 0)) } }
  })
  t.equal(f.lost, 0)
  t.equal(f.rejected, 0)
  t.equal(f.completed, f.invocations)
  // 3000/min of 200 ms on 4 cores is 2.5x the board: invocations wait in the activator, beyond the runtimes' slots.
  t.ok(maxSample > maxReady, `KPA saw ${maxSample} in flight with at most ${maxReady} runtimes ready`)
})

t.test('knative: past 10,000 buffered invocations of a function the activator rejects (containerConcurrency 1)', async (t) => {
  const boards = parseBoardSpec('banana-pi-m2-zero:1')
  const over = simulate({ ...SIM_DEFAULTS, trace: oneFn([20_000], 2000), boards, policies: createPolicySet('knative-cc1'), seed: 1, scale: 1, drainMs: 1000 })
  t.ok(over.rejected > 9000 && over.rejected < 10_000, `rejected ${over.rejected}`)
  const under = simulate({ ...SIM_DEFAULTS, trace: oneFn([5000], 2000), boards, policies: createPolicySet('knative-cc1'), seed: 1, scale: 1, drainMs: 1000 })
  t.equal(under.rejected, 0)
  // The default, containerConcurrency 0: no pod is ever full, so nothing waits in the activator.
  const unlimited = simulate({ ...SIM_DEFAULTS, trace: oneFn([20_000], 2000), boards, policies: createPolicySet('knative'), seed: 1, scale: 1, drainMs: 1000 })
  t.equal(unlimited.rejected, 0)
  t.equal(createPolicySet('knative-cc7').concurrency, 7)
})

t.test('idle-off powers off boards idle 10 minutes; knative keeps every board on', async (t) => {
  const trace = oneFn([600, 600, ...new Array<number>(28).fill(0)], 100)
  const boards = parseBoardSpec('raspberry-pi-4b:2,orange-pi-zero3:2')
  const k = simulate({ ...SIM_DEFAULTS, trace, boards, policies: createPolicySet('knative'), seed: 1, scale: 1, drainMs: 0 })
  const off = simulate({ ...SIM_DEFAULTS, trace, boards, policies: createPolicySet('idle-off'), seed: 1, scale: 1, drainMs: 0 })
  t.equal(k.board_hours, 2)
  t.ok(off.board_hours < 1.9, `idle-off ${off.board_hours} board-hours`)
  t.ok(off.energy_not_serving_j < k.energy_not_serving_j)
  t.equal(off.completed, off.invocations)
})

t.test('peak load: the busiest 10 minutes offer the asked utilisation', async (t) => {
  const counts = new Array<number>(60).fill(100)
  for (let m = 30; m < 40; m++) counts[m] = 1000
  const trace = oneFn(counts, 100)
  t.same(peakWindow(trace), { start: 30, work: 10 * 1000 * 0.1 })
  const boards = parseBoardSpec('raspberry-pi-4b:2')
  const s = scaleForPeakUtilisation(trace, boards, 0.7)
  t.ok(Math.abs(peakUtilisation(trace, boards, s) - 0.7) < 1e-9)
  // 8 reference cores × 600 s × 0.7 = 3360 core-seconds in the peak window, which holds 1000 at scale 1.
  t.ok(Math.abs(s - 3.36) < 1e-9)
})

t.test('generator seeds are different days, not redraws of one', async (t) => {
  const shape = (seed: number): { fns: number, meanMs: number, peak: number } => {
    const d = mkdtempSync(join(tmpdir(), 'wisp-day-'))
    generateTrace(d, { seed, vary: true, minutes: 1440, perMinute: 200 })
    const tr = parseTrace(d)
    return { fns: tr.fns.length, meanMs: tr.fns.reduce((s, f) => s + f.meanMs, 0) / tr.fns.length, peak: peakWindow(tr).start }
  }
  const a = shape(101)
  const b = shape(102)
  t.same(shape(101), a)
  t.ok(a.fns !== b.fns || Math.abs(a.meanMs - b.meanMs) > 1, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`)
  t.not(a.peak, b.peak)
})

t.test('wisp simulate --utilisation U --policy all reports every figure for every set', async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'wisp-sim-all-'))
  generateTrace(d, { functions: 12, minutes: 15, seed: 5, perMinute: 300 })
  const out = join(d, 'r.json')
  const program = new Command().exitOverride()
  registerSimulate(program)
  const write = process.stdout.write.bind(process.stdout)
  process.stdout.write = (() => true) as typeof process.stdout.write
  try {
    await program.parseAsync(['node', 'wisp', 'simulate', '--trace', d, '--utilisation', '0.7', '--policy', 'all', '--out', out, '--boards', 'raspberry-pi-4b:1,orange-pi-zero3:1'])
  } finally { process.stdout.write = write }
  const r = JSON.parse(readFileSync(out, 'utf8')) as { peak_utilisation: number, policies: Record<string, Record<string, number>> }
  t.ok(Math.abs(r.peak_utilisation - 0.7) < 1e-9)
  t.same(Object.keys(r.policies), ['knative', 'idle-off', 'p2c', 'wisp', 'wisp-no-gate'])
  for (const [set, f] of Object.entries(r.policies)) {
    for (const k of ['p50_ms', 'p90_ms', 'p99_ms', 'mean_slowdown', 'worst_fn_slowdown', 'jain', 'energy_j', 'energy_not_serving_j', 'energy_per_inv_j', 'rejected', 'lost', 'invocations']) {
      t.type(f[k], 'number', `${set}.${k}`)
    }
    t.ok(f.invocations! > 0 && f.energy_per_inv_j! > 0, set)
  }
  const bad = new Command().exitOverride()
  registerSimulate(bad)
  await t.rejects(bad.parseAsync(['node', 'wisp', 'simulate', '--trace', d, '--utilisation', '0']), { code: 'WISP_BAD_CONFIG' })
})
