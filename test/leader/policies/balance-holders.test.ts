import t from 'tap'
import { getProfile } from '../../../boards/index.js'
import type { BoardView, ClusterView, FnView } from '../../../runtime/leader/policies/types.js'
import { createMuBalance } from '../../../runtime/leader/policies/balance-mu.js'
import { warmCandidates } from '../../../runtime/leader/policies/candidates.js'
import { seededRng } from '../../../runtime/shared/rng.js'

// 300 boards (above mu's full-scan size), a few warm for some functions, none for `cold-*`.
const boards: BoardView[] = Array.from({ length: 300 }, (_, i) => ({
  id: `b${String(i).padStart(3, '0')}`, profile: getProfile(i % 2 === 0 ? 'raspberry-pi-4b' : 'orange-pi-zero3'), power: 'on', routable: i % 7 !== 0,
  queueLen: i % 5, inflight: i % 3, serviceRate: 0, powerW: 1, lastSeenMs: 1000, idleSinceMs: 0,
  functions: i % 50 === 3 ? { warm: { queueLen: 0, serviceRate: 0, running: 0, runtimes: 1 } } : {} as Record<string, FnView>
}))
const holders: Record<string, number[]> = {}
boards.forEach((b, i) => { for (const fn of Object.keys(b.functions)) (holders[fn] ??= []).push(i) })
const fns = ['warm', 'cold-a', 'cold-b']
const base: ClusterView = { now: 1000, boards, fns: Object.fromEntries(fns.map((f) => [f, { arrivals: 0, inflight: 0, serviceMs: 100, concurrency: 1, memoryMb: 64 }])) }

t.test('mu decides the same with the holders index as by a scan, for functions warm somewhere and nowhere', async (t) => {
  const indexed = createMuBalance()
  const scanned = createMuBalance()
  const a = seededRng(5)
  const b = seededRng(5)
  for (let k = 0; k < 200; k++) {
    const fn = fns[k % fns.length] as string
    const withIndex = indexed.pick({ ...base, holders }, fn, a)
    const byScan = scanned.pick(base, fn, b)
    t.same(withIndex, byScan, `decision ${k} (${fn})`)
  }
  const cold = indexed.pick({ ...base, holders }, 'cold-a', seededRng(1))
  t.ok(Object.keys(cold.scores).length <= 2, 'a function warm nowhere scores only the sampled boards')
})

t.test('warm candidates are the same with the holders index as by a scan', async (t) => {
  for (const fn of fns) t.same(warmCandidates({ ...base, holders }, fn).map((b) => b.id), warmCandidates(base, fn).map((b) => b.id), fn)
})

t.test('mu scores a board whatever its id, one named like an Object.prototype member too', async (t) => {
  const fast = { ...boards[0]!, id: 'constructor', routable: true, functions: { warm: { queueLen: 0, serviceRate: 0, running: 0, runtimes: 1 } }, queueLen: 0, inflight: 0 }
  const slow = { ...boards[1]!, id: 'other', routable: true, functions: { warm: { queueLen: 0, serviceRate: 0, running: 0, runtimes: 1 } }, queueLen: 4, inflight: 4 }
  const d = createMuBalance().pick({ ...base, boards: [slow, fast] }, 'warm', seededRng(1))
  t.equal(d.choice, 'constructor')
  t.same(Object.keys(d.scores).sort(), ['constructor', 'other'])
})
