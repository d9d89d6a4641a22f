import t from 'tap'
import { RunQueue } from '../../runtime/board-model/run-queue.js'

interface Item { fn: string, tag: string, since: number }

/** A queue whose functions' harmonic-mean run times are fixed (ms), and a pass with `slots` free cores. */
const rig = (hm: Record<string, number>) => {
  const q = new RunQueue<string, Item>({ since: (i) => i.since, harmonicMs: (i) => hm[i.fn] ?? 100 })
  const add = (fn: string, tag: string, since: number): Item => { const i = { fn, tag, since }; q.push(fn, i); return i }
  /** One pass at `now`: starts up to `slots`; `cannot` lists functions that cannot get a runtime; `fails` ones whose start fails. */
  const pass = (now: number, slots: number, o: { cannot?: string[], fails?: string[] } = {}): string[] => {
    const started: string[] = []
    q.drain(now, {
      room: () => started.length < slots,
      canStart: (fn) => !(o.cannot ?? []).includes(fn),
      start: (i) => { if ((o.fails ?? []).includes(i.fn)) return false; started.push(i.tag); return true }
    })
    return started
  }
  return { q, add, pass }
}

t.test('the head with the highest response ratio goes first; FIFO within a function', async (t) => {
  const { q, add, pass } = rig({ long: 1000, short: 10 })
  add('long', 'long-1', 0)
  add('long', 'long-2', 0)
  add('short', 'short-1', 20)
  t.equal(q.size, 3)
  // At 40: long-1 (40 + 1000) / 1000 = 1.04, short-1 (20 + 10) / 10 = 3.
  t.same(pass(40, 1), ['short-1'])
  t.same(pass(50, 1), ['long-1'], 'long-1 before long-2')
  t.same(pass(60, 5), ['long-2'], 'a pass stops when the queue is empty')
  t.equal(q.size, 0)
  t.same(pass(70, 5), [])
})

t.test('aging: a long head that has waited long enough beats a fresh short one', async (t) => {
  const { add, pass } = rig({ long: 1000, short: 10 })
  add('long', 'long-1', 0)
  add('short', 'short-1', 3000)
  // long-1 (3010 + 1000) / 1000 = 4.01 beats short-1 (10 + 10) / 10 = 2.
  t.same(pass(3010, 1), ['long-1'])
  t.same(pass(3010, 1), ['short-1'])
})

t.test('a head that cannot get a runtime is skipped, and waits at the head of its function', async (t) => {
  const { q, add, pass } = rig({ a: 10, b: 1000 })
  add('a', 'a-1', 0)
  add('a', 'a-2', 0)
  add('b', 'b-1', 0)
  t.same(pass(100, 2, { cannot: ['a'] }), ['b-1'], 'a has the higher ratio but no runtime')
  t.same(pass(100, 2, { cannot: ['a'] }), [], 'nothing else can start')
  t.same(pass(100, 2, { fails: ['a'] }), [], 'a start that fails sets the function aside for the pass')
  t.equal(q.size, 2)
  t.same(pass(100, 2), ['a-1', 'a-2'])
})

t.test('a set-aside function does not hide the others for the rest of the pass', async (t) => {
  const { add, pass } = rig({ a: 10, b: 100, c: 1000 })
  add('a', 'a-1', 0)
  add('b', 'b-1', 0)
  add('c', 'c-1', 0)
  t.same(pass(50, 3, { fails: ['a'] }), ['b-1', 'c-1'])
  t.same(pass(50, 3), ['a-1'])
})

t.test('remove takes a waiter out wherever it stands; lengths count what waits per function', async (t) => {
  const { q, add, pass } = rig({ a: 10, b: 10 })
  add('a', 'a-1', 0)
  const a2 = add('a', 'a-2', 0)
  const b1 = add('b', 'b-1', 5)
  t.same(new Map(q.lengths()), new Map([['a', 2], ['b', 1]]))
  t.ok(q.remove('a', a2))
  t.notOk(q.remove('a', a2), 'a waiter leaves once')
  t.ok(q.remove('b', b1))
  t.notOk(q.remove('c', b1), 'an unknown function has nothing to remove')
  t.same(new Map(q.lengths()), new Map([['a', 1]]))
  t.equal(q.size, 1)
  t.same(pass(10, 3), ['a-1'])
  t.equal(q.size, 0)
})
