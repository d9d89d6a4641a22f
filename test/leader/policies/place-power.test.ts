import t from 'tap'
import { getProfile } from '../../../boards/index.js'
import type { BoardView, ClusterView, PowerState, ScaleResult } from '../../../runtime/leader/policies/types.js'
import { placeFair } from '../../../runtime/leader/policies/place-fair.js'
import { placeSpread } from '../../../runtime/leader/policies/place-spread.js'
import { createPowerGate, powerNone } from '../../../runtime/leader/policies/power-gate.js'
import { createPolicySet, POLICY_SETS } from '../../../runtime/leader/policies/policy-sets.js'
import { seededRng } from '../../../runtime/shared/rng.js'

const board = (id: string, profile: string, o: { power?: PowerState, idleSinceMs?: number | null, inflight?: number, runtimes?: Record<string, number> } = {}): BoardView => ({
  id, profile: getProfile(profile), power: o.power ?? 'on', routable: (o.power ?? 'on') === 'on', queueLen: 0, inflight: o.inflight ?? 0, serviceRate: 0,
  functions: Object.fromEntries(Object.entries(o.runtimes ?? {}).map(([f, n]) => [f, { queueLen: 0, serviceRate: 0, running: 0, runtimes: n }])),
  powerW: 1, lastSeenMs: 0, idleSinceMs: o.idleSinceMs === undefined ? 0 : o.idleSinceMs
})
const demand = { arrivals: 0, inflight: 0, serviceMs: 100, concurrency: 1, memoryMb: 64 }
const scale = (forecast: Record<string, number>): ScaleResult => ({ targets: {}, forecast, decisions: [] })

t.test('fair placement gives every function a share of the fast board', async (t) => {
  const v: ClusterView = { now: 0, boards: [board('fast', 'raspberry-pi-4b'), board('slow', 'banana-pi-m2-zero')], fns: { a: demand, b: demand } }
  const p = placeFair.place(v, { a: 2, b: 2 }, seededRng(1))
  t.ok((p.warm.fast?.a ?? 0) >= 1 && (p.warm.fast?.b ?? 0) >= 1, JSON.stringify(p.warm))
  t.equal(p.decisions.length, 2)
  t.equal(p.decisions[0]?.kind, 'place')
})

t.test('fair placement evicts what it no longer wants', async (t) => {
  const v: ClusterView = { now: 0, boards: [board('x', 'raspberry-pi-4b', { runtimes: { old: 2 } })], fns: { a: demand } }
  t.same(placeFair.place(v, { a: 1 }, seededRng(1)).warm, { x: { a: 1, old: 0 } })
})

t.test('spread placement keeps existing runtimes and spreads new ones, blind to speed', async (t) => {
  const v: ClusterView = { now: 0, boards: [board('p', 'raspberry-pi-4b', { runtimes: { a: 1 } }), board('q', 'banana-pi-m2-zero')], fns: { a: demand } }
  t.same(placeSpread.place(v, { a: 2 }, seededRng(1)).warm, { p: { a: 1 }, q: { a: 1 } })
  t.same(placeSpread.place(v, { a: 0 }, seededRng(1)).warm, { p: { a: 0 } })
})

t.test('power gate: gates an idle slow board when the rest cover demand, with hysteresis', async (t) => {
  const pg = createPowerGate()
  const v: ClusterView = { now: 100_000, boards: [board('gw', 'gateway'), board('pi', 'raspberry-pi-4b'), board('bpi', 'banana-pi-m2-zero')], fns: { f: demand } }
  const plan = pg.tick(v, scale({ f: 1 }), seededRng(1))
  t.same(plan.actions.map((a) => `${a.op} ${a.board}`), ['gate bpi', 'gate pi'])
  t.equal(plan.decisions[0]?.kind, 'power')
  // Dwell time: a second tick right away changes nothing.
  t.same(pg.tick(v, scale({ f: 1 }), seededRng(1)).actions, [])
})

t.test('power gate never gates the gateway nor the last board able to run a function', async (t) => {
  const pg = createPowerGate()
  const v: ClusterView = { now: 1e6, boards: [board('gw', 'gateway')], fns: { f: demand } }
  t.same(pg.tick(v, scale({}), seededRng(1)).actions, [])
  const v2: ClusterView = { now: 1e6, boards: [board('a', 'raspberry-pi-4b'), board('b', 'raspberry-pi-4b', { power: 'gated' })], fns: { f: demand } }
  t.same(createPowerGate().tick(v2, scale({}), seededRng(1)).actions, [])
})

t.test('power gate leaves busy or recently busy boards on', async (t) => {
  const v: ClusterView = { now: 100_000, boards: [board('a', 'raspberry-pi-4b', { inflight: 2, idleSinceMs: null }), board('b', 'orange-pi-zero3', { idleSinceMs: 90_000 }), board('c', 'orange-pi-zero3', { inflight: 1, idleSinceMs: null })], fns: { f: demand } }
  t.same(createPowerGate().tick(v, scale({}), seededRng(1)).actions, [])
})

t.test('power gate wakes the fastest gated boards ahead of forecast demand, and one when all are gated', async (t) => {
  const v: ClusterView = { now: 0, boards: [board('a', 'raspberry-pi-4b'), board('b', 'raspberry-pi-4b', { power: 'gated' }), board('c', 'banana-pi-m2-zero', { power: 'gated' })], fns: { f: demand } }
  t.same(createPowerGate().tick(v, scale({ f: 40 }), seededRng(1)).actions, [{ board: 'b', op: 'wake' }])
  const all: ClusterView = { now: 0, boards: [board('b', 'raspberry-pi-4b', { power: 'gated' }), board('c', 'banana-pi-m2-zero', { power: 'gated' })], fns: { f: demand } }
  t.same(createPowerGate().tick(all, scale({}), seededRng(1)).actions, [{ board: 'b', op: 'wake' }])
  t.same(powerNone.tick(all, scale({}), seededRng(1)).actions, [])
})

t.test('policy sets', async (t) => {
  t.equal(createPolicySet('wisp').balance.name, 'mu')
  t.equal(createPolicySet('knative').scale.name, 'knative-kpa')
  t.ok(POLICY_SETS.baseline)
  t.throws(() => createPolicySet('nope'), { code: 'WISP_BAD_CONFIG' })
})

t.test('fair placement is sticky: a board already holding the runtime keeps it over an equal one', async (t) => {
  const v: ClusterView = { now: 0, boards: [board('p1', 'raspberry-pi-4b'), board('p2', 'raspberry-pi-4b', { runtimes: { a: 1 } })], fns: { a: demand } }
  t.same(placeFair.place(v, { a: 1 }, seededRng(1)).warm, { p2: { a: 1 } })
  // The holders index gives the same plan as a scan.
  t.same(placeFair.place({ ...v, holders: { a: [1] } }, { a: 1 }, seededRng(1)).warm, { p2: { a: 1 } })
  // ... but not over a board 4x faster.
  const w: ClusterView = { now: 0, boards: [board('pi', 'raspberry-pi-4b'), board('bpi', 'banana-pi-m2-zero', { runtimes: { a: 1 } })], fns: { a: demand } }
  t.same(placeFair.place(w, { a: 1 }, seededRng(1)).warm, { pi: { a: 1 }, bpi: { a: 0 } })
})
