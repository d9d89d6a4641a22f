import t from 'tap'
import { getProfile } from '../../../boards/index.js'
import type { BoardView, ClusterView, FnView } from '../../../runtime/leader/policies/types.js'
import { expectedWaitMs, missesDeadline } from '../../../runtime/leader/overload.js'

const fnv = (o: Partial<FnView> = {}): FnView => ({ queueLen: 0, serviceRate: 0, running: 0, runtimes: 1, ...o })
const board = (id: string, o: Partial<BoardView> = {}): BoardView => ({
  id, profile: getProfile('raspberry-pi-4b'), power: 'on', routable: true, queueLen: 0, inflight: 0,
  serviceRate: 0, functions: {}, powerW: 1, lastSeenMs: 1000, idleSinceMs: 0, ...o
})
const view = (boards: BoardView[]): ClusterView => ({ now: 1000, boards, fns: {} })

t.test('expected wait: queued runs over the live boards\' rate for the function', async (t) => {
  const a = board('a', { functions: { f: fnv({ queueLen: 30, serviceRate: 10 }) } })
  const b = board('b', { functions: { f: fnv({ queueLen: 10, serviceRate: 30 }) } })
  t.equal(expectedWaitMs(view([a, b]), 'f'), 1000, '40 queued at 40/s')
  t.equal(expectedWaitMs(view([a, { ...b, routable: false }]), 'f'), 3000, 'a board that takes no work serves none of it')
  t.equal(expectedWaitMs(view([a, b]), 'g'), null, 'no board has a rate for g: no estimate')
  t.equal(missesDeadline(expectedWaitMs(view([a, b]), 'f'), 999), true)
  t.equal(missesDeadline(expectedWaitMs(view([a, b]), 'f'), 1000), false)
  t.equal(missesDeadline(expectedWaitMs(view([a, b]), 'g'), 0), false, 'nothing is refused on no evidence')
})

t.test('a gossiped rate that decayed while idle does not make a fresh queue look endless', async (t) => {
  // 4 cores, 100 ms a run: 40 a second whatever the (decayed) gossip says.
  const idle = board('a', { functions: { f: fnv({ queueLen: 40, serviceRate: 0.1, serviceMs: 100 }) } })
  t.equal(expectedWaitMs(view([idle]), 'f'), 1000)
  // 16 co-executed runs that wait on I/O: 16 at a time, not 4.
  const io = board('a', { functions: { f: fnv({ queueLen: 160, serviceRate: 0, running: 16, serviceMs: 1000 }) } })
  t.equal(expectedWaitMs(view([io]), 'f'), 10_000)
})

t.test('with the holders index only the boards warm for the function are read', async (t) => {
  const a = board('a', { functions: { f: fnv({ queueLen: 30, serviceRate: 10 }) } })
  const b = board('b', { functions: { f: fnv({ queueLen: 10, serviceRate: 30 }) } })
  const cold = board('c', { functions: { f: fnv({ queueLen: 50, serviceRate: 0, runtimes: 0 }) } })
  t.equal(expectedWaitMs({ ...view([a, b, cold]), holders: { f: [0, 1] } }, 'f'), 1000, 'the cold board (not a holder) is not read')
  t.equal(expectedWaitMs({ ...view([a, b]), holders: {} }, 'f'), null, 'warm nowhere: no estimate, nothing refused')
})
