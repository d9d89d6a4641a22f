import t from 'tap'
import { getProfile } from '../../boards/index.js'
import { SimBoard, type BoardHooks } from '../../runtime/sim/sim-board.js'
import type { Inv } from '../../runtime/sim/heap.js'
import type { QueueDiscipline } from '../../runtime/leader/policies/types.js'

/** One simulated board driven by hand: wake-ups are collected, time moves only when a test says so. */
const rig = (o: { cores: number, slots: number, queue: QueueDiscipline, refMs: number[], shortLane?: number }) => {
  let now = 0
  const wakes: Array<{ at: number, gen: number }> = []
  const done: Array<{ fn: number, at: number, ms: number }> = []
  const hooks: BoardHooks = {
    now: () => now,
    wakeAt: (_b, at, gen) => { wakes.push({ at, gen }) },
    finished: (b, inv, ms) => { done.push({ fn: inv.fn, at: now, ms }); b.finish(inv, ms) },
    coldMs: () => 0,
    slots: () => 1,
    memoryMb: () => 64,
    fnName: (i) => `f${i}`,
    refMs: (i) => o.refMs[i] ?? 0
  }
  const profile = { ...getProfile('raspberry-pi-4b'), cores: o.cores, speed: 1 }
  const board = new SimBoard('b1', 0, profile, hooks, o.refMs.length, o.queue, o.slots, o.shortLane)
  const inv = (fn: number, durRef: number): Inv => ({ fn, arrival: now, durRef, cold: false, est: 0 })
  /** Runs the board until nothing is left running (bounded), firing the newest wake-up each time. */
  const drain = (): void => {
    for (let i = 0; i < 100 && wakes.length > 0; i++) {
      const w = wakes.reduce((a, b) => (b.gen > a.gen ? b : a))
      wakes.length = 0
      now = w.at
      board.tick(w.gen)
    }
  }
  return { board, inv, drain, done, setNow: (t: number) => { now = t } }
}

t.test('beyond its cores a board shares them: two runs on one core both take twice as long', async (t) => {
  const r = rig({ cores: 1, slots: 2, queue: 'ratio', refMs: [100, 100] })
  r.board.enqueue(r.inv(0, 100))
  r.board.enqueue(r.inv(1, 100))
  r.drain()
  t.same(r.done.map((d) => [d.at, d.ms]), [[200, 200], [200, 200]])
  t.equal(r.board.inflight, 0)
  // A function has at most `cores` runtimes: a second run of f0 waits for the first instead of sharing.
  r.done.length = 0
  r.setNow(1000)
  r.board.enqueue(r.inv(0, 100))
  r.board.enqueue(r.inv(0, 100))
  r.drain()
  t.same(r.done.map((d) => [d.at, d.ms]), [[1100, 100], [1200, 100]])
})

t.test('a run that starts later shares the core only while both run', async (t) => {
  const r = rig({ cores: 1, slots: 2, queue: 'ratio', refMs: [100, 100] })
  r.board.enqueue(r.inv(0, 100)) // alone for 50 ms (50 done), then shared: 50 more at half speed
  r.setNow(50)
  r.board.enqueue(r.inv(1, 100))
  r.drain()
  // f0 ends at 150; f1 has had 50 by then and runs alone for its last 50: ends at 200.
  t.same(r.done.map((d) => [d.fn, d.at]), [[0, 150], [1, 200]])
})

t.test('the run queue: by response ratio a short run overtakes queued long ones; in FIFO it waits', async (t) => {
  for (const queue of ['ratio', 'fifo'] as const) {
    const r = rig({ cores: 1, slots: 1, queue, refMs: [1000, 10], shortLane: 0 })
    r.board.enqueue(r.inv(0, 1000)) // runs
    r.board.enqueue(r.inv(0, 1000)) // waits
    r.board.enqueue(r.inv(1, 10)) // waits
    r.drain()
    t.same(r.done.map((d) => d.fn), queue === 'ratio' ? [0, 1, 0] : [0, 0, 1], queue)
  }
})

t.test('the short lane: a short run starts beside a long one holding every slot, sharing the core', async (t) => {
  const r = rig({ cores: 1, slots: 1, queue: 'ratio', refMs: [1000, 10] })
  r.board.enqueue(r.inv(0, 1000)) // runs
  r.board.enqueue(r.inv(0, 1000)) // waits: its function already holds its one runtime per core
  r.board.enqueue(r.inv(1, 10)) // waits for the lane
  r.drain()
  t.equal(r.done[0]?.fn, 1, 'the short run finishes first')
  t.ok((r.done[0]?.at ?? Infinity) < 1000, `long before the long run ends (${r.done[0]?.at ?? NaN} ms)`)
  const f = rig({ cores: 1, slots: 1, queue: 'fifo', refMs: [1000, 10] })
  f.board.enqueue(f.inv(0, 1000)); f.board.enqueue(f.inv(1, 10)); f.drain()
  t.same(f.done.map((d) => d.fn), [0, 1], 'a FIFO board (the baselines) has no lane')
})
