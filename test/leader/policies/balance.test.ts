import t from 'tap'
import { getProfile } from '../../../boards/index.js'
import type { BoardView, ClusterView, FnView, PowerState } from '../../../runtime/leader/policies/types.js'
import { createMuBalance } from '../../../runtime/leader/policies/balance-mu.js'
import { createRoundRobin } from '../../../runtime/leader/policies/balance-round-robin.js'
import { p2c } from '../../../runtime/leader/policies/balance-p2c.js'
import { leastQueue } from '../../../runtime/leader/policies/balance-least-queue.js'
import { seededRng } from '../../../runtime/shared/rng.js'

const fnv = (o: Partial<FnView> = {}): FnView => ({ queueLen: 0, serviceRate: 0, running: 0, runtimes: 1, ...o })
const board = (id: string, profile: string, o: Partial<BoardView> & { fn?: FnView, power?: PowerState } = {}): BoardView => ({
  id, profile: getProfile(profile), power: o.power ?? 'on', routable: o.routable ?? (o.power ?? 'on') === 'on', queueLen: 0, inflight: 0,
  serviceRate: 0, functions: o.fn === undefined ? {} : { f: o.fn }, powerW: 1, lastSeenMs: 1000, idleSinceMs: 0, ...o
})
const view = (boards: BoardView[], now = 1000): ClusterView => ({ now, boards, fns: { f: { arrivals: 0, inflight: 0, serviceMs: 100, concurrency: 1, memoryMb: 64 } } })

t.test('mu prefers the board 4x faster, and records a score per candidate', async (t) => {
  const v = view([board('slow', 'banana-pi-m2-zero', { fn: fnv() }), board('fast', 'raspberry-pi-4b', { fn: fnv() })])
  const d = createMuBalance().pick(v, 'f', seededRng(1))
  t.equal(d.choice, 'fast')
  t.equal(d.kind, 'balance')
  t.equal(d.scores.slow, 400)
  t.equal(d.scores.fast, 100)
})

t.test('mu sends work to the slow board once the fast one has a queue long enough', async (t) => {
  const fast = board('fast', 'raspberry-pi-4b', { fn: fnv(), inflight: 20, meanServiceMs: 100 })
  const d = createMuBalance().pick(view([board('slow', 'banana-pi-m2-zero', { fn: fnv() }), fast]), 'f', seededRng(1))
  t.equal(d.choice, 'slow')
  t.ok((d.scores.fast ?? 0) > (d.scores.slow ?? 0))
})

t.test('mu ties are broken by the seeded rng, the same way for the same seed', async (t) => {
  const v = view([board('a', 'raspberry-pi-4b', { fn: fnv() }), board('b', 'raspberry-pi-4b', { fn: fnv() })])
  const picks = (seed: number): string => { const r = seededRng(seed); const p = createMuBalance(); return Array.from({ length: 20 }, () => p.pick(v, 'f', r).choice).join() }
  t.equal(picks(3), picks(3))
  t.ok(picks(3).includes('a') && picks(3).includes('b'))
})

t.test('mu distrusts stale gossip: the leader in-flight count and the profile speed decide', async (t) => {
  // Stale gossip claims an empty queue and a fast measured service time; the leader knows 12 in flight.
  const stale = board('stale', 'raspberry-pi-4b', { fn: fnv({ serviceMs: 1 }), lastSeenMs: 0, queueLen: 0, inflight: 12 })
  const d = createMuBalance({ staleMs: 500 }).pick(view([stale, board('ok', 'raspberry-pi-4b', { fn: fnv() })], 10_000), 'f', seededRng(1))
  t.equal(d.choice, 'ok')
  t.ok((d.scores.stale ?? 0) > 100)
})

t.test('every balancer answers null when all boards are gated', async (t) => {
  const v = view([board('a', 'raspberry-pi-4b', { power: 'gated' }), board('b', 'orange-pi-zero3', { power: 'gated' })])
  for (const p of [createMuBalance(), createRoundRobin(), p2c, leastQueue]) {
    const d = p.pick(v, 'f', seededRng(1))
    t.equal(d.choice, null, p.name)
    t.match(d.reason, /no routable/)
  }
})

t.test('mu on large clusters scores the warm holders plus a sample, using the index', async (t) => {
  const boards = Array.from({ length: 200 }, (_, i) => board(`b${i}`, 'orange-pi-zero3', {}))
  boards[7] = board('b7', 'raspberry-pi-4b', { fn: fnv() })
  const v: ClusterView = { ...view(boards), holders: { f: [7] } }
  const d = createMuBalance().pick(v, 'f', seededRng(1))
  t.equal(d.choice, 'b7')
  t.ok(Object.keys(d.scores).length <= 3)
})

t.test('round-robin rotates over warm boards in id order, with explicit state', async (t) => {
  const v = view([board('b', 'raspberry-pi-4b', { fn: fnv() }), board('a', 'banana-pi-m2-zero', { fn: fnv() }), board('c', 'orange-pi-zero3')])
  const rr = createRoundRobin()
  t.same([1, 2, 3, 4].map(() => rr.pick(v, 'f', seededRng(1)).choice), ['a', 'b', 'a', 'b'])
  t.equal(rr.state.get('f'), 4)
  const again = createRoundRobin(new Map(rr.state))
  t.equal(again.pick(v, 'f', seededRng(1)).choice, 'a')
})

t.test('round-robin falls back to every routable board when none is warm (a cold start)', async (t) => {
  const rr = createRoundRobin()
  const v = view([board('a', 'raspberry-pi-4b'), board('b', 'raspberry-pi-4b')])
  t.same([rr.pick(v, 'f', seededRng(1)).choice, rr.pick(v, 'f', seededRng(1)).choice], ['a', 'b'])
})

t.test('p2c picks the less loaded of two samples', async (t) => {
  const v = view([board('a', 'raspberry-pi-4b', { fn: fnv(), inflight: 9 }), board('b', 'raspberry-pi-4b', { fn: fnv(), inflight: 1 })])
  const d = p2c.pick(v, 'f', seededRng(5))
  t.equal(d.choice, 'b')
  t.same(d.scores, { a: 9, b: 1 })
})
