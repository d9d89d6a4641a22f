import t from 'tap'
import { getProfile } from '../../../boards/index.js'
import type { BoardView, ClusterView, FnView } from '../../../runtime/leader/policies/types.js'
import { createMuBalance } from '../../../runtime/leader/policies/balance-mu.js'
import { SHORT_MS } from '../../../runtime/board-model/short-lane.js'
import { WORK_CLASSES, workClass } from '../../../runtime/board-model/work.js'
import { seededRng } from '../../../runtime/shared/rng.js'

// The noisy-neighbour case: a slot hog (300 ms runs) holds every run slot of a 4-core board and
// has as many runs queued; a light function (5 ms) is warm there with its runtime free. The
// board's short lane starts the light run at once, so its expected completion there is its own run
// time, not the wait behind the hog's queue. The other board is idle but has no light runtime
// (a cold start): the balancer used to send the light run there.
const HOG_MS = 300
const LIGHT_MS = 5

const fnv = (o: Partial<FnView> = {}): FnView => ({ queueLen: 0, serviceRate: 0, running: 0, runtimes: 0, ...o })

const hogged = (id: string, light: Partial<FnView> = {}, o: Partial<BoardView> = {}, others: Record<string, FnView> = {}): BoardView => {
  const byClass = new Array<number>(WORK_CLASSES).fill(0)
  byClass[workClass(HOG_MS)] = 4 * HOG_MS
  return {
    id, profile: getProfile('raspberry-pi-4b'), power: 'on', routable: true, queueLen: 8, inflight: 8, serviceRate: 0,
    functions: { hog: fnv({ running: 4, queueLen: 4, runtimes: 4, serviceMs: HOG_MS }), light: fnv({ runtimes: 1, serviceMs: LIGHT_MS, ...light }), ...others },
    powerW: 1, lastSeenMs: 1000, idleSinceMs: null, meanServiceMs: HOG_MS, workMs: 8 * HOG_MS, queuedByClass: byClass, workRuns: 8, ...o
  }
}
const idleCold: BoardView = {
  id: 'idle', profile: getProfile('raspberry-pi-4b'), power: 'on', routable: true, queueLen: 0, inflight: 0, serviceRate: 0,
  functions: {}, powerW: 1, lastSeenMs: 1000, idleSinceMs: 0
}
const view = (b: BoardView, serviceMs = LIGHT_MS): ClusterView => ({
  now: 1000, boards: [b, idleCold],
  fns: { light: { arrivals: 0, inflight: 0, serviceMs, concurrency: 1, memoryMb: 64 }, hog: { arrivals: 0, inflight: 8, serviceMs: HOG_MS, concurrency: 1, memoryMb: 64 } }
})

t.test('mu rates a short function with a free warm runtime on a board whose slots are all held at its own run time: the short lane takes it', async (t) => {
  const d = createMuBalance().pick(view(hogged('hogged')), 'light', seededRng(1))
  t.equal(d.scores.hogged, 2 * LIGHT_MS, 'no wait behind the hog: the lane is free (its run and the 4 hog runs share the 4 cores: t_f charged for that)')
  t.equal(d.choice, 'hogged', 'the warm board, not a cold start on the idle one')
})

t.test('mu gives no lane credit when the lane may be taken or the function would not get it', async (t) => {
  const cases: Array<[string, ClusterView]> = [
    ['a run of its own in flight there (it may hold the lane)', view(hogged('hogged', { running: 1, runtimes: 2 }))],
    ['a run of its own queued there', view(hogged('hogged', { queueLen: 1, runtimes: 2 }))],
    ['another short function running there', view(hogged('hogged', {}, {}, { other: fnv({ running: 1, runtimes: 1, serviceMs: 3 }) }))],
    ['a function of unknown run time running there', view(hogged('hogged', {}, {}, { other: fnv({ running: 1, runtimes: 1 }) }))],
    ['its run time there above SHORT_MS', view(hogged('hogged', { serviceMs: SHORT_MS + 1 }))],
    ['no free warm runtime there', view(hogged('hogged', { runtimes: 0 }))],
    ['stale gossip', { ...view(hogged('hogged', {}, { lastSeenMs: 0 })), now: 10_000 }]
  ]
  for (const [what, v] of cases) {
    const d = createMuBalance().pick(v, 'light', seededRng(1))
    t.ok((d.scores.hogged ?? 0) > 2 * LIGHT_MS, `${what}: more than the lane's wait is charged (${d.scores.hogged})`)
  }
  const noLane = createMuBalance({ shortLane: 0 }).pick(view(hogged('hogged')), 'light', seededRng(1))
  t.ok((noLane.scores.hogged ?? 0) > 2 * LIGHT_MS, 'boards without a short lane (shortLane: 0)')
})

t.test('a board with a core free wins over the short lane of a hogged one', async (t) => {
  const warmIdle: BoardView = { ...idleCold, id: 'warm', functions: { light: fnv({ runtimes: 1, serviceMs: LIGHT_MS }) } }
  const d = createMuBalance().pick({ ...view(hogged('hogged')), boards: [hogged('hogged'), warmIdle] }, 'light', seededRng(1))
  t.equal(d.scores.warm, LIGHT_MS)
  t.equal(d.choice, 'warm')
})

t.test('a long function on the hogged board still waits behind the hog', async (t) => {
  const d = createMuBalance().pick(view(hogged('hogged', { serviceMs: 200 }), 200), 'light', seededRng(1))
  t.ok((d.scores.hogged ?? 0) > 200 + SHORT_MS)
  t.equal(d.choice, 'idle')
})
