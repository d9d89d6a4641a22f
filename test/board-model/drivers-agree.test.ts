import t from 'tap'
import { getProfile } from '../../boards/index.js'
import { RunScheduler, type RunPermit } from '../../runtime/agent/run-scheduler.js'
import type { Inv } from '../../runtime/sim/heap.js'
import { SimBoard } from '../../runtime/sim/sim-board.js'
import { manualSimBoard } from '../helpers/sim-board-hooks.js'
import { ManualClock } from '../../runtime/shared/clock.js'

/** Run time (ms) of each function, the same on every run. */
const RUN_MS = [10, 1000, 100, 37]
interface Arrival { at: number, fn: number }
interface Start { fn: number, at: number }

/**
 * One scripted day: each function runs once alone (both drivers learn its run time), then a
 * burst arrives while the cores are busy, so the order of starts is the run queue's choice.
 */
const SCRIPT: Arrival[] = [
  { at: 0, fn: 0 }, { at: 2000, fn: 1 }, { at: 4000, fn: 2 }, { at: 6000, fn: 3 },
  { at: 10_000, fn: 1 }, { at: 10_001, fn: 1 }, { at: 10_002, fn: 2 }, { at: 10_003, fn: 0 }, { at: 10_004, fn: 3 },
  { at: 10_005, fn: 1 }, { at: 10_200, fn: 0 }, { at: 10_300, fn: 1 }, { at: 10_400, fn: 2 }, { at: 10_950, fn: 0 },
  { at: 11_500, fn: 3 }, { at: 11_600, fn: 0 }, { at: 12_000, fn: 2 }, { at: 12_001, fn: 3 }, { at: 12_002, fn: 0 }
]

const flush = async (): Promise<void> => { for (let i = 0; i < 5; i++) await Promise.resolve() }

/** The agent's run scheduler on a manual clock; each permit is released RUN_MS later (completions before arrivals at one instant). */
const agentStarts = async (cores: number, shortLane: number, script = SCRIPT): Promise<Start[]> => {
  const clock = new ManualClock(0)
  const s = new RunScheduler({ slots: cores, defaultMs: 100, clock, shortLane })
  const starts: Start[] = []
  const running: Array<{ fn: number, end: number, permit: RunPermit }> = []
  let i = 0
  for (let guard = 0; guard < 1000; guard++) {
    const arrival = script[i]?.at ?? Infinity
    const k = running.reduce((b, r, j) => (b < 0 || r.end < running[b]!.end ? j : b), -1)
    const end = k < 0 ? Infinity : running[k]!.end
    if (arrival === Infinity && end === Infinity) break
    if (end <= arrival) {
      clock.advance(end - clock.now())
      const [r] = running.splice(k, 1)
      r!.permit.release(RUN_MS[r!.fn]!)
    } else {
      clock.advance(arrival - clock.now())
      const fn = script[i++]!.fn
      void s.acquire(`f${fn}`, 1e9).then((permit) => {
        starts.push({ fn, at: clock.now() })
        running.push({ fn, end: clock.now() + RUN_MS[fn]!, permit })
      })
    }
    await flush()
  }
  return starts
}

/** A simulated board with the agent's queue discipline, driven by its own wake-ups; `concurrency`: runs one runtime takes. */
const simStarts = (cores: number, shortLane: number, script = SCRIPT, concurrency = 1): Start[] => {
  const m = manualSimBoard({ slots: () => concurrency })
  const board = new SimBoard('b1', 0, { ...getProfile('raspberry-pi-4b'), cores, speed: 1 }, m.hooks, RUN_MS.length, 'ratio', cores, shortLane)
  const invs: Inv[] = []
  const seen = new Set<Inv>()
  const starts: Start[] = []
  let i = 0
  for (let guard = 0; guard < 1000; guard++) {
    const arrival = script[i]?.at ?? Infinity
    const w = m.peekWake()
    if (arrival === Infinity && w === null) break
    if (w !== null && w.at <= arrival) {
      m.takeWake()
      m.now = w.at
      board.tick(w.gen)
    } else {
      m.now = arrival
      const fn = script[i++]!.fn
      const inv: Inv = { fn, arrival: m.now, durRef: RUN_MS[fn]!, cold: false, est: 0 }
      invs.push(inv)
      board.enqueue(inv)
    }
    for (const inv of invs) if (inv.start !== undefined && !seen.has(inv)) { seen.add(inv); starts.push({ fn: inv.fn, at: inv.start }) }
  }
  return starts
}

for (const cores of [1, 2]) {
  t.test(`the agent and the simulator start the same runs in the same order (${cores} core${cores > 1 ? 's' : ''})`, async (t) => {
    const agent = await agentStarts(cores, 0)
    const sim = simStarts(cores, 0)
    t.equal(agent.length, SCRIPT.length, 'the agent started every run')
    t.same(sim, agent, 'same start order and times')
    const fifo = SCRIPT.map((a) => a.fn)
    t.not(agent.map((s) => s.fn).join(), fifo.join(), 'the order is the queue\'s choice, not arrival order')
  })

  // With the short lane a run may start beyond the cores: the simulated board then shares them
  // (processor sharing, as the kernel does), while the scripted agent runs keep their lengths, so
  // completions, and the choices after them, drift apart. Up to the first start whose time
  // differs, the two must have made the same choices, lane starts included.
  t.test(`with the short lane, the agent and the simulator make the same choices (${cores} core${cores > 1 ? 's' : ''})`, async (t) => {
    const agent = await agentStarts(cores, 1)
    const sim = simStarts(cores, 1)
    t.equal(agent.length, SCRIPT.length, 'the agent started every run')
    let k = sim.findIndex((s, j) => s.at !== agent[j]?.at)
    if (k < 0) k = sim.length - 1
    t.ok(k >= 4, `the two agree on timing for the first ${k} starts`)
    t.same(sim.slice(0, k + 1).map((s) => s.fn), agent.slice(0, k + 1).map((s) => s.fn), 'same choices up to the first start the shared cores delay')
    t.not(agent.map((s) => s.fn).join(), (await agentStarts(cores, 0)).map((s) => s.fn).join(), 'the lane changes the order (short runs go first)')
  })
}

// A burst of a long function the board has not measured yet, then a short one: the unmeasured
// function is trusted with the lane for one run at a time (board-model/short-lane.ts), so its
// third run waits for a slot and the lane is the short function's, in both drivers.
const UNMEASURED_BURST: Arrival[] = [{ at: 0, fn: 0 }, { at: 1000, fn: 1 }, { at: 1000, fn: 1 }, { at: 1000, fn: 1 }, { at: 1010, fn: 0 }]
t.test('an unmeasured function\'s burst leaves the lane to a short one, in the agent and the simulator alike', async (t) => {
  const agent = await agentStarts(2, 1, UNMEASURED_BURST)
  const sim = simStarts(2, 1, UNMEASURED_BURST, 32) // runs of a function co-execute in its runtime, as with the default concurrency
  const expected = [{ fn: 0, at: 0 }, { fn: 1, at: 1000 }, { fn: 1, at: 1000 }, { fn: 0, at: 1010 }]
  t.same(agent.slice(0, 4), expected, 'agent: two runs of the burst in the slots, the short one in the lane')
  t.same(sim.slice(0, 4), expected, 'simulator: the same')
  t.equal(agent[4]?.fn, 1, 'the burst\'s third run starts when a slot frees')
  t.equal(sim[4]?.fn, 1)
})
