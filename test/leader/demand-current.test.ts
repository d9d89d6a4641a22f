import t from 'tap'
import { createHash } from 'node:crypto'
import { DemandTracker } from '../../runtime/leader/demand.js'
import type { Manifest } from '../../runtime/protocol/messages.js'

const manifest = (name: string, concurrency = 1): Manifest => ({
  v: 1, name, sha256: createHash('sha256').update(name).digest('hex'), size: 10, memory_mb: 64, timeout_ms: 1000, concurrency, isolation: 'shared'
})

t.test('demand for a dispatch is the full view with the dispatched function brought up to date', async (t) => {
  const d = new DemandTracker()
  const a = manifest('a')
  const b = manifest('b')
  let listed = 0
  const list = (): Manifest[] => { listed++; return [a, b] }
  d.arrive('a')
  d.arrive('b')
  const first = d.current(a, new Map([['a', 1]]), list)
  t.equal(listed, 1, 'the first dispatch lists the deployed functions once')
  t.same(Object.keys(first).sort(), ['a', 'b'])
  t.match(first.a, { arrivals: 1, inflight: 1, concurrency: 1 })
  d.arrive('a')
  d.complete('a', 100, 1)
  const second = d.current(manifest('a', 4), new Map([['a', 2], ['b', 5]]), list)
  t.equal(listed, 1, 'later dispatches do not list them again')
  t.match(second.a, { arrivals: 2, inflight: 2, serviceMs: 100, concurrency: 4 }, 'the dispatched function is current')
  t.match(second.b, { inflight: 0 }, 'another function is as of its last refresh')
  const full = d.view([a, b], new Map([['a', 2], ['b', 5]]), true)
  t.match(full, { a: { arrivals: 2 }, b: { arrivals: 1, inflight: 5 } }, 'the full view is exact')
  t.match(d.current(b, new Map([['b', 5]]), list), { a: { arrivals: 0 }, b: { arrivals: 0, inflight: 5 } }, 'after a consuming view, arrivals restart from 0')
  t.equal(listed, 1)
})

t.test('cold-start cost: a cold receipt\'s time beyond queue and run, less a warm one\'s, at reference speed', async (t) => {
  const d = new DemandTracker()
  const a = manifest('a')
  t.equal(d.view([a], new Map(), false).a?.coldMs, undefined, 'unknown before any cold receipt (the policy keeps its default)')
  d.complete('a', 100, 1, 2, false)
  d.complete('a', 40, 0.5, 15, true)
  t.equal(d.coldMsOf('a'), 15 * 0.5 - 2)
  t.equal(d.view([a], new Map(), false).a?.coldMs, 5.5)
  t.equal(d.current(a, new Map(), () => [a]).a?.coldMs, 5.5, 'the dispatch view carries it too')
  d.complete('a', 100, 1, undefined, true)
  t.equal(d.coldMsOf('a'), 5.5, 'a receipt without the figures teaches nothing')
  d.complete('a', 100, 1, 1, true)
  t.ok((d.coldMsOf('a') ?? -1) >= 0, 'never negative')
})
