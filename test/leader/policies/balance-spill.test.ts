import t from 'tap'
import { getProfile } from '../../../boards/index.js'
import type { BoardView, ClusterView, FnDemand, FnView } from '../../../runtime/leader/policies/types.js'
import { createMuBalance } from '../../../runtime/leader/policies/balance-mu.js'
import { seededRng } from '../../../runtime/shared/rng.js'

const fnv = (o: Partial<FnView> = {}): FnView => ({ queueLen: 0, serviceRate: 0, running: 0, runtimes: 1, ...o })
const board = (id: string, profile: string, o: Partial<BoardView> = {}): BoardView => ({
  id, profile: getProfile(profile), power: 'on', routable: true, queueLen: 0, inflight: 0,
  serviceRate: 0, functions: {}, powerW: 1, lastSeenMs: 1000, idleSinceMs: 0, ...o
})
const demand = (o: Partial<FnDemand> = {}): FnDemand => ({ arrivals: 0, inflight: 0, serviceMs: 100, concurrency: 1, memoryMb: 64, ...o })
const view = (boards: BoardView[], fns: Record<string, FnDemand>, now = 1000): ClusterView => ({ now, boards, fns })

t.test('spill-over: a board whose queue of the function is at its bound is skipped, not chosen to reject', async (t) => {
  const full = board('fast', 'raspberry-pi-4b', { inflight: 10, functions: { f: fnv({ queueLen: 4, running: 4, runtimes: 4 }) } })
  const slow = board('slow', 'banana-pi-m2-zero', { functions: { f: fnv() } })
  const mu = createMuBalance()
  // Without a bound the fast board still wins (its wait is short); with a bound of 4 it is full.
  t.equal(mu.pick(view([full, slow], { f: demand() }), 'f', seededRng(1)).choice, 'fast')
  const bounded = (b: BoardView): BoardView => ({ ...b, queueLimit: 4 })
  const d = mu.pick(view([bounded(full), bounded(slow)], { f: demand() }), 'f', seededRng(1))
  t.equal(d.choice, 'slow')
  t.equal(d.scores.fast, undefined)
  // Every board full: no choice (the leader answers WISP_OVERLOADED).
  const slowFull = board('slow', 'banana-pi-m2-zero', { functions: { f: fnv({ queueLen: 4 }) } })
  t.equal(mu.pick(view([bounded(full), bounded(slowFull)], { f: demand() }), 'f', seededRng(1)).choice, null)
})

t.test('expected work ahead: a few long invocations queued count more than many short ones', async (t) => {
  // Same outstanding count (8 on 4 cores); a has 8 short ones queued, b 8 long ones.
  const a = board('a', 'raspberry-pi-4b', { inflight: 8, meanServiceMs: 100, workMs: 8 * 50, functions: { f: fnv() } })
  const b = board('b', 'raspberry-pi-4b', { inflight: 8, meanServiceMs: 100, workMs: 8 * 5000, functions: { f: fnv() } })
  const d = createMuBalance().pick(view([b, a], { f: demand() }), 'f', seededRng(1))
  t.equal(d.choice, 'a')
  t.ok((d.scores.b ?? 0) > 10 * (d.scores.a ?? 0))
  // Stale gossip: workMs is ignored, the leader's own count and the profile decide (a tie here).
  const stale = createMuBalance().pick(view([b, a], { f: demand() }, 60_000), 'f', seededRng(1))
  t.equal(stale.scores.a, stale.scores.b)
})

t.test('burst isolation: a function past its share of the cores queues behind its own work', async (t) => {
  // 2 Pi 4s = 8 cores; share 0.5 → isolation from 4 in flight. f runs on x only; y is idle but all cores
  // of both are taken by others' work, so f queueing on y would sit in front of everyone else there.
  const x = board('x', 'raspberry-pi-4b', { inflight: 12, functions: { f: fnv({ running: 2, queueLen: 6, runtimes: 2 }), g: fnv({ running: 2 }) } })
  const y = board('y', 'raspberry-pi-4b', { inflight: 4, functions: { g: fnv({ running: 4, runtimes: 4 }) } })
  const mu = createMuBalance({ isolateShare: 0.5 }) // off by default (see docs/control-plane.md)
  const calm = mu.pick(view([x, y], { f: demand({ inflight: 3 }) }), 'f', seededRng(1))
  t.equal(calm.choice, 'y', 'below its share: least expected completion time')
  const burst = mu.pick(view([x, y], { f: demand({ inflight: 8 }) }), 'f', seededRng(1))
  t.equal(burst.choice, 'x')
  t.match(burst.reason, /own work/)
  t.ok((burst.scores.x ?? 0) > (burst.scores.y ?? 0), 'the isolated choice is not the least ECT')
  // Off (the default): plain Mu.
  t.equal(createMuBalance().pick(view([x, y], { f: demand({ inflight: 8 }) }), 'f', seededRng(1)).choice, 'y')
  // Nowhere of its own yet: least ECT.
  t.equal(mu.pick(view([y], { f: demand({ inflight: 8 }) }), 'f', seededRng(1)).choice, 'y')
})

t.test('ties among equal boards stay seeded-random under isolation', async (t) => {
  const mk = (id: string): BoardView => board(id, 'raspberry-pi-4b', { inflight: 8, functions: { f: fnv({ running: 4, queueLen: 4, runtimes: 4 }) } })
  const v = view([mk('a'), mk('b')], { f: demand({ inflight: 16 }) })
  const picks = (seed: number): string => { const r = seededRng(seed); const p = createMuBalance({ isolateShare: 0.5 }); return Array.from({ length: 20 }, () => p.pick(v, 'f', r).choice).join() }
  t.equal(picks(5), picks(5))
  t.ok(picks(5).includes('a') && picks(5).includes('b'))
})

t.test('queued work by class of run time: a short run expects to overtake long queued ones, a long run does not', async (t) => {
  // A Pi 4 with 4 long runs going and 8 long ones (1000 ms each, class 9) queued, next to an idle BPI-M2 Zero (0.25x).
  const withClasses = (cls: number[] | undefined): BoardView => board('pi4', 'raspberry-pi-4b', {
    inflight: 12, workMs: 12 * 1000, queuedByClass: cls, functions: { short: fnv(), long: fnv() }
  })
  const classes = Array.from({ length: 16 }, (_, k) => (k === 9 ? 8000 : 0))
  const bpi = board('bpi', 'banana-pi-m2-zero', { functions: { short: fnv(), long: fnv() } })
  const fns = { short: demand({ serviceMs: 100 }), long: demand({ serviceMs: 1000 }) }
  const mu = createMuBalance()
  // In arrival order the short run would wait (12 + 1 − 4) × 1000 / 4 = 2250 ms: the idle slow board wins.
  const fifo = mu.pick(view([withClasses(undefined), bpi], fns), 'short', seededRng(1))
  t.equal(fifo.choice, 'bpi')
  t.equal(Math.round(fifo.scores.pi4 ?? 0), 2250 + 100)
  // By response ratio it waits for the first of 4 runs to end (4000 / 20 = 200 ms) and, as the board
  // evens out slowdowns, about as long as if the 9 runs ahead were its own size ((12 + 1 − 4) × 100 / 4
  // = 225 ms), not for the queue.
  const ratio = mu.pick(view([withClasses(classes), bpi], fns), 'short', seededRng(1))
  t.equal(ratio.choice, 'pi4')
  t.equal(Math.round(ratio.scores.pi4 ?? 0), 225 + 100)
  // A long run is no shorter than the queued ones: it waits for them (min(2250, max(200 + 8000 / 4, 9 × 1000 / 4)) = 2250 ms).
  const long = mu.pick(view([withClasses(classes), bpi], fns), 'long', seededRng(1))
  t.equal(Math.round(long.scores.pi4 ?? 0), 2250 + 1000)
  t.equal(long.choice, 'pi4', 'still below the 4000 ms it takes on the slow board')
})

t.test('runs the leader sent after the board last reported count as ahead: a stale report is not optimistic', async (t) => {
  // The board reported nothing running or queued; since then the leader has sent it 40 runs.
  const pi4 = board('pi4', 'raspberry-pi-4b', { inflight: 40, workMs: 0, workRuns: 0, queuedByClass: new Array(16).fill(0), functions: { f: fnv() } })
  const bpi = board('bpi', 'banana-pi-m2-zero', { functions: { f: fnv() } })
  const d = createMuBalance().pick(view([pi4, bpi], { f: demand({ serviceMs: 100 }) }), 'f', seededRng(1))
  // As in arrival order: (40 + 1 − 4) × 100 / 4 = 925 ms of wait, not 0.
  t.equal(Math.round(d.scores.pi4 ?? 0), 925 + 100)
  t.equal(d.choice, 'bpi')
})
