import t from 'tap'
import { getProfile } from '../../../boards/index.js'
import type { BoardView, ClusterView, FnView } from '../../../runtime/leader/policies/types.js'
import { createActivator, freeSlots } from '../../../runtime/leader/policies/balance-activator.js'
import { createIdleOff } from '../../../runtime/leader/policies/power-idle-off.js'
import { seededRng } from '../../../runtime/shared/rng.js'

const fnv = (o: Partial<FnView> = {}): FnView => ({ queueLen: 0, serviceRate: 0, running: 0, runtimes: 1, ...o })
const board = (id: string, o: Partial<Omit<BoardView, 'profile'>> & { fn?: FnView, kind?: string } = {}): BoardView => {
  const { kind, fn, ...rest } = o
  return {
    id, profile: getProfile(kind ?? 'raspberry-pi-4b'), power: 'on', routable: (o.power ?? 'on') === 'on', queueLen: 0, inflight: 0,
    serviceRate: 0, functions: fn === undefined ? {} : { f: fn }, powerW: 1, lastSeenMs: 0, idleSinceMs: 0, ...rest
  }
}
const view = (boards: BoardView[], concurrency: number, o: { now?: number, inflight?: number } = {}): ClusterView =>
  ({ now: o.now ?? 1000, boards, fns: { f: { arrivals: 0, inflight: o.inflight ?? 0, serviceMs: 100, concurrency, memoryMb: 64 } } })

t.test('containerConcurrency 1: the first runtime with a free slot, skipping busy ones', async (t) => {
  const v = view([board('b3', { fn: fnv() }), board('b1', { fn: fnv({ running: 1 }) }), board('b2', { fn: fnv({ queueLen: 1 }) })], 1)
  const d = createActivator().pick(v, 'f', seededRng(1))
  t.equal(d.choice, 'b3')
  t.equal(d.policy, 'activator')
  t.equal(d.scores.b1, 0)
  t.equal(d.scores.b3, 1)
})

t.test('every runtime busy: the invocation is buffered at the leader (choice null, buffer)', async (t) => {
  const v = view([board('b1', { fn: fnv({ running: 1 }) }), board('b2', { fn: fnv({ runtimes: 2, running: 1, queueLen: 1 }) })], 1)
  const d = createActivator().pick(v, 'f', seededRng(1))
  t.equal(d.choice, null)
  t.equal(d.inputs?.buffer, true)
})

t.test('scaled to zero: a cold start where the largest share of runtime memory is free (LeastAllocated), not buffered', async (t) => {
  // b1 holds 2 of its 4 runtimes' worth (256 MB ÷ 64 MB) for another function; b2 holds 2 of 16.
  const half = board('b1', { kind: 'banana-pi-m2-zero', functions: { g: fnv({ runtimes: 2 }) } })
  const big = board('b2', { functions: { g: fnv({ runtimes: 2 }) } })
  t.equal(createActivator().pick(view([half, board('b0', { kind: 'banana-pi-m2-zero', functions: { g: fnv({ runtimes: 3 }) } })], 1), 'f', seededRng(1)).choice, 'b1')
  const small = half
  const d = createActivator().pick(view([small, big], 1), 'f', seededRng(1))
  t.equal(d.choice, 'b2')
  t.equal(d.inputs?.buffer, false)
  t.equal(createActivator().pick(view([board('b1', { power: 'gated' })], 1), 'f', seededRng(1)).choice, null)
})

t.test('containerConcurrency 0: the fewer in flight of two random runtimes', async (t) => {
  const v = view([board('a', { fn: fnv({ queueLen: 5 }) }), board('b', { fn: fnv({ queueLen: 1 }) })], 0)
  const p = createActivator()
  const r = seededRng(4)
  for (let i = 0; i < 20; i++) t.equal(p.pick(v, 'f', r).choice, 'b')
  t.equal(freeSlots(v.boards[0]!, 'f', 0), Infinity)
})

t.test('containerConcurrency above 3: round-robin over the runtimes with a free slot', async (t) => {
  const v = view([board('a', { fn: fnv() }), board('b', { fn: fnv({ running: 5 }) }), board('c', { fn: fnv({ running: 2 }) })], 5)
  const p = createActivator()
  const r = seededRng(1)
  t.same([0, 1, 2, 3].map(() => p.pick(v, 'f', r).choice), ['a', 'c', 'a', 'c'])
})

t.test('idle-off gates a board idle 10 minutes, not one idle 9, and keeps one powered', async (t) => {
  const now = 20 * 60_000
  const boards = [board('old', { idleSinceMs: now - 600_000 }), board('young', { idleSinceMs: now - 540_000 })]
  const plan = createIdleOff().tick(view(boards, 1, { now }), { targets: {}, forecast: {}, decisions: [] }, seededRng(1))
  t.same(plan.actions, [{ board: 'old', op: 'gate' }])
  const alone = createIdleOff().tick(view([board('only', { idleSinceMs: 0 })], 1, { now }), { targets: {}, forecast: {}, decisions: [] }, seededRng(1))
  t.same(alone.actions, [])
})

t.test('idle-off wakes a gated board when runtimes the autoscaler wants do not fit', async (t) => {
  const boards = [board('on', { fn: fnv({ running: 1 }), inflight: 1, idleSinceMs: null }), board('off', { power: 'gated', routable: false })]
  const p = createIdleOff()
  const pending = p.tick(view(boards, 1, { inflight: 5 }), { targets: { f: 3 }, forecast: {}, decisions: [] }, seededRng(1))
  t.same(pending.actions, [{ board: 'off', op: 'wake' }])
  const fits = createIdleOff().tick(view(boards, 1, { inflight: 1 }), { targets: { f: 1 }, forecast: {}, decisions: [] }, seededRng(1))
  t.same(fits.actions, [])
})

t.test('idle-off scales down as cluster-autoscaler does: under 50 % of memory requested, fitting elsewhere, for 10 minutes', async (t) => {
  // A Pi 4 holds 16 runtimes of 64 MB: 7 (44 %) is unneeded even while busy; 9 (56 %) is not.
  const busy = (id: string, n: number): BoardView => board(id, { functions: { f: fnv({ runtimes: n, running: 1 }) }, inflight: 1, idleSinceMs: null })
  const p = createIdleOff()
  const tick = (now: number, boards: BoardView[]): string[] =>
    p.tick(view(boards, 4, { now, inflight: 2 }), { targets: {}, forecast: {}, decisions: [] }, seededRng(1)).actions.map((a) => `${a.op} ${a.board}`)
  const boards = [busy('low', 7), busy('high', 9), board('spare')]
  t.same(tick(0, boards), [])
  t.same(tick(540_000, boards), [], 'unneeded 9 minutes: kept')
  t.same(tick(600_000, boards), ['gate low', 'gate spare'], 'unneeded 10 minutes: drained, and the empty spare too; high stays')
  // Its runtimes would not fit elsewhere: kept however long.
  const q = createIdleOff()
  const full = [busy('low', 7), busy('a', 15), busy('b', 15)]
  for (const now of [0, 600_000, 1_200_000]) t.same(q.tick(view(full, 4, { now, inflight: 3 }), { targets: {}, forecast: {}, decisions: [] }, seededRng(1)).actions, [])
})
