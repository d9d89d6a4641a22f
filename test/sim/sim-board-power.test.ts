import t from 'tap'
import { getProfile } from '../../boards/index.js'
import { createPolicySet } from '../../runtime/leader/policies/policy-sets.js'
import type { Inv } from '../../runtime/sim/heap.js'
import { SimBoard, type RuntimeCpu } from '../../runtime/sim/sim-board.js'
import { manualSimBoard } from '../helpers/sim-board-hooks.js'
import { parseBoardSpec } from '../../runtime/sim/run.js'
import { simulate, SIM_DEFAULTS } from '../../runtime/sim/simulator.js'
import type { Trace } from '../../runtime/sim/trace.js'

// Raspberry Pi 4: 2.7 W idle, 6.4 W with its 4 cores busy: 0.925 W per busy core.
const PI4 = getProfile('raspberry-pi-4b')
const PER_CORE_W = (PI4.peak_w - PI4.idle_w) / PI4.cores

/** One board, one run of `runMs` (cold start `coldMs`), run to its end; its energy then. */
const oneRun = (o: { runMs: number, coldMs: number, cpuShare?: number, runtimeCpu?: RuntimeCpu }): { board: SimBoard, endMs: number, setNow: (ms: number) => void } => {
  const m = manualSimBoard({
    coldMs: () => o.coldMs,
    fnName: () => 'f',
    ...(o.cpuShare === undefined ? {} : { cpuShare: () => o.cpuShare! }),
    ...(o.runtimeCpu === undefined ? {} : { runtimeCpu: () => o.runtimeCpu! })
  })
  const board = new SimBoard('b1', 0, PI4, m.hooks, 1, 'ratio', 4)
  const inv: Inv = { fn: 0, arrival: 0, durRef: o.runMs, cold: false, est: 0 }
  board.enqueue(inv)
  const w = m.takeWake()
  if (w === null) throw new Error('the run did not start')
  m.now = w.at
  board.tick(w.gen)
  board.account()
  return { board, endMs: m.now, setNow: (ms) => { m.now = ms } }
}

t.test('a CPU-bound run keeps a core busy for its whole service (the default)', async (t) => {
  const { board, endMs } = oneRun({ runMs: 1000, coldMs: 100 })
  t.equal(endMs, 1100)
  t.ok(Math.abs(board.energy - (PI4.idle_w * 1.1 + PER_CORE_W * 1.1)) < 1e-9, `${board.energy} J`)
})

t.test('a run that waits (cpuShare 0) draws no core; its cold start does', async (t) => {
  const { board, endMs } = oneRun({ runMs: 1000, coldMs: 100, cpuShare: 0 })
  t.equal(endMs, 1100, 'it holds its slot as long')
  t.ok(Math.abs(board.energy - (PI4.idle_w * 1.1 + PER_CORE_W * 0.1)) < 1e-9, `${board.energy} J`)
  const half = oneRun({ runMs: 1000, coldMs: 0, cpuShare: 0.5 })
  t.ok(Math.abs(half.board.energy - (PI4.idle_w * 1 + PER_CORE_W * 0.5)) < 1e-9, 'half a core for a half share')
})

t.test('the runtime\'s own CPU: per run, and at idle while the agent runs', async (t) => {
  const { board } = oneRun({ runMs: 1000, coldMs: 0, cpuShare: 0, runtimeCpu: { perRunMs: 10, idleCores: 0.1 } })
  t.ok(Math.abs(board.energy - (PI4.idle_w * 1 + PER_CORE_W * (0.01 + 0.1))) < 1e-9, `${board.energy} J`)
  t.equal(board.upMs, 1000)
  t.equal(board.upEnergy, board.energy, 'all of it metered: the agent ran throughout')
})

t.test('a runtime started costs the runtime\'s CPU for it: beyond a cold start\'s own time, and when a warm target starts it', async (t) => {
  const rc = { perRunMs: 0, idleCores: 0, perRuntimeMs: 30 }
  const cold = oneRun({ runMs: 1000, coldMs: 10, cpuShare: 0, runtimeCpu: rc })
  t.ok(Math.abs(cold.board.energy - (PI4.idle_w * 1.01 + PER_CORE_W * 0.03)) < 1e-9, 'the cold start\'s 10 ms and 20 ms more')
  const warm = oneRun({ runMs: 1000, coldMs: 10, cpuShare: 0, runtimeCpu: rc })
  const before = warm.board.energy
  warm.board.warm(0, 3) // two more beside the one the cold start made
  t.ok(Math.abs(warm.board.energy - before - PER_CORE_W * 0.06) < 1e-9, 'two runtimes, 30 ms each')
  t.equal(warm.board.upEnergy, warm.board.energy)
})

t.test('time and energy while the agent runs leave out booting, shutting down and gated time', async (t) => {
  const { board, setNow } = oneRun({ runMs: 1000, coldMs: 0 })
  const up = board.upEnergy
  board.setPower('shutting-down')
  setNow(6000)
  board.setPower('gated')
  setNow(10_000)
  board.setPower('booting')
  setNow(30_000)
  board.setPower('on')
  setNow(31_000)
  board.account()
  t.equal(board.upMs, 2000, 'the second before and the second after')
  t.ok(Math.abs(board.upEnergy - up - PI4.idle_w) < 1e-9)
  t.ok(board.energy - board.upEnergy > PI4.idle_w * 5, 'the shutdown and the boot drew, unmetered by the agent')
})

t.test('simulate: a cpuShare outside 0..1 or negative runtime CPU is WISP_BAD_CONFIG', async (t) => {
  const trace: Trace = { name: 'x', minutes: 1, skipped: 0, fns: [{ name: 'f', hash: 'f', trigger: 'http', counts: Float64Array.from([10]), pcts: [50, 50, 50, 50, 50, 50, 50], meanMs: 50 }] }
  const base = { ...SIM_DEFAULTS, trace, boards: parseBoardSpec('raspberry-pi-4b:1'), policies: createPolicySet('wisp'), seed: 1 }
  t.throws(() => simulate({ ...base, cpuShare: 2 }), { code: 'WISP_BAD_CONFIG' })
  t.throws(() => simulate({ ...base, cpuShare: Number.NaN }), { code: 'WISP_BAD_CONFIG' })
  t.throws(() => simulate({ ...base, runtimeCpu: { perRunMs: -1, idleCores: 0 } }), { code: 'WISP_BAD_CONFIG' })
  const sleeping = simulate({ ...base, cpuShare: 0 })
  const spinning = simulate({ ...base })
  t.ok(sleeping.energy_j < spinning.energy_j, 'the same runs waiting draw less than spinning')
  t.equal(sleeping.p99_ms, spinning.p99_ms, 'and take as long')
})
