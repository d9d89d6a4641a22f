import t from 'tap'
import { mkdtempSync, readFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { generateTrace } from '../../runtime/sim/trace-gen.js'
import { parseTrace } from '../../runtime/sim/trace.js'
import { DEFAULT_BOARDS, parseBoardSpec, runSimulation, scaleForUtilisation } from '../../runtime/sim/run.js'
import { simulate, SIM_DEFAULTS } from '../../runtime/sim/simulator.js'
import { createPolicySet } from '../../runtime/leader/policies/policy-sets.js'
import { registerSimulate } from '../../runtime/cli/commands/simulate.js'
import { EventHeap } from '../../runtime/sim/heap.js'
import { seededRng } from '../../runtime/shared/rng.js'

const d = mkdtempSync(join(tmpdir(), 'wisp-sim-'))
generateTrace(d, { functions: 25, minutes: 20, seed: 2 })
const trace = parseTrace(d)
const boards = parseBoardSpec(DEFAULT_BOARDS)
const scale = scaleForUtilisation(trace, boards, 0.4)

t.test('the event heap pops in time order, FIFO among equal times', async (t) => {
  const h = new EventHeap()
  const r = seededRng(9)
  for (let i = 0; i < 500; i++) h.push(Math.floor(r() * 50), 0, i)
  let last = -1
  let lastA = -1
  for (let e = h.pop(); e !== undefined; e = h.pop()) {
    t.ok(e.t > last || (e.t === last && e.a > lastA))
    if (e.t !== last) lastA = -1
    last = e.t
    lastA = e.a
  }
})

t.test('the simulator is deterministic for a seed, and seeds differ', async (t) => {
  const run = (seed: number): string => JSON.stringify(runSimulation({ trace, boards, sets: ['wisp', 'baseline'], seeds: [seed], scale }).report)
  const a = run(1)
  t.equal(a, run(1))
  t.not(a, run(2))
  const r = JSON.parse(a) as { policies: Record<string, Record<string, number>>, utilisation: number }
  t.ok(Math.abs(r.utilisation - 0.4) < 1e-9)
  for (const s of ['wisp', 'baseline']) {
    const f = r.policies[s]!
    t.same(Object.keys(f).sort(), ['board_hours', 'boot_energy_j', 'cold_starts', 'completed', 'energy_j', 'energy_not_serving_j', 'energy_per_inv_j', 'idle_energy_j', 'invocations', 'jain', 'lost', 'mean_slowdown',
      'p50_ms', 'p90_ms', 'p99_ms', 'p99_slowdown', 'rejected', 'shutdown_energy_j', 'worst_fn_slowdown'].sort())
    t.equal(f.completed, f.invocations! - f.rejected! - f.lost!)
    t.ok(Math.abs(f.energy_not_serving_j! - f.idle_energy_j! - f.boot_energy_j! - f.shutdown_energy_j!) < 1e-6)
    t.ok(f.invocations! > 1000)
    t.equal(f.lost, 0)
    t.ok(f.energy_j! > 0 && f.p99_ms! >= f.p50_ms!)
  }
})

t.test('every decision is recorded with its kind, policy and scores', async (t) => {
  const kinds = new Set<string>()
  let bad = 0
  simulate({ ...SIM_DEFAULTS, trace, boards, policies: createPolicySet('wisp'), seed: 1, scale, onDecision: (dec) => { kinds.add(dec.kind); if (typeof dec.scores !== 'object' || typeof dec.policy !== 'string') bad++ } })
  t.equal(bad, 0)
  t.same([...kinds].sort(), ['balance', 'place', 'scale'].concat(kinds.has('power') ? ['power'] : []).sort())
})

t.test('one fast board beats four slow ones only with a speed-aware balancer', async (t) => {
  const counts = new Float64Array(10).fill(2400)
  const one = { name: 'x', minutes: 10, skipped: 0, fns: [{ name: 'f-a', hash: 'a', trigger: 'http', counts, pcts: [100, 100, 100, 100, 100, 100, 100], meanMs: 100 }] }
  const bs = parseBoardSpec('raspberry-pi-4b:1,banana-pi-m2-zero:1')
  const mu = simulate({ ...SIM_DEFAULTS, trace: one, boards: bs, policies: createPolicySet('wisp-no-gate'), seed: 1, scale: 1 })
  const rr = simulate({ ...SIM_DEFAULTS, trace: one, boards: bs, policies: createPolicySet('baseline'), seed: 1, scale: 1 })
  t.ok(mu.p99_ms < rr.p99_ms, `mu ${mu.p99_ms} vs rr ${rr.p99_ms}`)
})

t.test('wisp simulate: CLI writes the report and rejects bad options', async (t) => {
  const out = join(d, 'report.json')
  const program = new Command().exitOverride()
  registerSimulate(program)
  const lines: string[] = []
  const write = process.stdout.write.bind(process.stdout)
  process.stdout.write = ((s: string) => { lines.push(s); return true }) as typeof process.stdout.write
  try {
    await program.parseAsync(['node', 'wisp', 'simulate', '--trace', d, '--policy', 'wisp,baseline', '--seed', '3', '--out', out, '--window', '1-10', '--top', '10'])
  } finally { process.stdout.write = write }
  t.ok(existsSync(out))
  const r = JSON.parse(readFileSync(out, 'utf8')) as { seeds: number[], policies: Record<string, unknown>, boards: string[] }
  t.same(r.seeds, [3])
  t.same(Object.keys(r.policies), ['wisp', 'baseline'])
  t.equal(r.boards.length, 8)
  t.match(lines.join(''), /p99 ms/)
  const bad = new Command().exitOverride()
  registerSimulate(bad)
  await t.rejects(bad.parseAsync(['node', 'wisp', 'simulate', '--trace', d, '--policy', 'nope']), { code: 'WISP_BAD_CONFIG' })
  const bad2 = new Command().exitOverride()
  registerSimulate(bad2)
  await t.rejects(bad2.parseAsync(['node', 'wisp', 'simulate', '--trace', d, '--boards', 'raspberry-pi-4b:x']), { code: 'WISP_BAD_CONFIG' })
})

t.test('the holders index the simulator keeps matches the boards, and spill-over leaves no rejection at a loose bound', async (t) => {
  const ps = createPolicySet('wisp')
  let checked = 0
  let mismatch = 0
  const pick = ps.balance.pick
  const spy = { ...ps, balance: { ...ps.balance, pick: (v: Parameters<typeof pick>[0], fn: string, r: Parameters<typeof pick>[2]) => {
    if (checked++ % 97 === 0) {
      const scan = v.boards.map((b, i) => ((b.functions[fn]?.runtimes ?? 0) > 0 ? i : -1)).filter((i) => i >= 0).sort()
      if (JSON.stringify([...(v.holders?.[fn] ?? [])].sort()) !== JSON.stringify(scan)) mismatch++
    }
    return pick(v, fn, r)
  } } }
  const f = simulate({ ...SIM_DEFAULTS, trace, boards, policies: spy, seed: 3, scale: scale * 2, queueLimit: 64 })
  t.ok(checked > 1000)
  t.equal(mismatch, 0)
  t.equal(f.rejected, 0)
})

t.test('the leader learns each function\'s cold-start cost from receipts, and the balancer prices cold starts with it', async (t) => {
  // The simulator's boards take coldMs ÷ speed to start a runtime; the balancer's default guess is 50 ms.
  for (const coldMs of [3, 120]) {
    const seen: number[] = []
    simulate({ ...SIM_DEFAULTS, trace, boards, policies: createPolicySet('wisp'), seed: 1, scale, coldMs, onDecision: (dec) => { if (dec.kind === 'balance') seen.push(Number(dec.inputs?.cold_ms)) } })
    const late = seen.slice(Math.floor(seen.length / 2))
    t.ok(late.length > 100)
    t.ok(late.every((c) => Math.abs(c - coldMs) < 1e-6 * coldMs + 1e-9), `cold ${coldMs} ms learned (the warm runs' handover takes no time here)`)
  }
})
