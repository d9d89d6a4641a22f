import t from 'tap'
import { getProfile } from '../../../boards/index.js'
import type { BoardView, ClusterView, PowerState, ScaleResult } from '../../../runtime/leader/policies/types.js'
import { placeFair } from '../../../runtime/leader/policies/place-fair.js'
import { placeSpread } from '../../../runtime/leader/policies/place-spread.js'
import { createPowerGate, powerNone } from '../../../runtime/leader/policies/power-gate.js'
import { createPolicySet, POLICY_SETS } from '../../../runtime/leader/policies/policy-sets.js'
import { seededRng } from '../../../runtime/shared/rng.js'

const board = (id: string, profile: string, o: { power?: PowerState, idleSinceMs?: number | null, inflight?: number, workMs?: number, runtimes?: Record<string, number> } = {}): BoardView => ({
  id, profile: getProfile(profile), power: o.power ?? 'on', routable: (o.power ?? 'on') === 'on', queueLen: 0, inflight: o.inflight ?? 0, serviceRate: 0,
  functions: Object.fromEntries(Object.entries(o.runtimes ?? {}).map(([f, n]) => [f, { queueLen: 0, serviceRate: 0, running: 0, runtimes: n }])),
  powerW: 1, lastSeenMs: 0, idleSinceMs: o.idleSinceMs === undefined ? 0 : o.idleSinceMs, ...(o.workMs === undefined ? {} : { workMs: o.workMs })
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
  const v: ClusterView = { now: 100_000, boards: [board('a', 'raspberry-pi-4b', { inflight: 2, idleSinceMs: null }), board('b', 'orange-pi-zero3', { idleSinceMs: 99_500 }), board('c', 'orange-pi-zero3', { inflight: 1, idleSinceMs: null })], fns: { f: demand } }
  t.same(createPowerGate().tick(v, scale({}), seededRng(1)).actions, [])
})

t.test('power gate wakes the most efficient gated board when queueing passes the target, and one when all are gated', async (t) => {
  // a: 40 in flight on 4 cores, 10 s each: 90 s of waiting, far past the target for another Pi 4, and longer than its boot.
  const queued = board('a', 'raspberry-pi-4b', { inflight: 40, workMs: 400_000, idleSinceMs: null })
  const v: ClusterView = { now: 0, boards: [queued, board('c', 'banana-pi-m2-zero', { power: 'gated' }), board('b', 'raspberry-pi-4b', { power: 'gated' })], fns: { f: demand } }
  // Forecast work (60/s × 100 ms = 6 reference cores) above the powered 4: wake until covered, the efficient Pi 4 first.
  t.same(createPowerGate().tick(v, scale({ f: 60 }), seededRng(1)).actions, [{ board: 'b', op: 'wake' }])
  // Forecast within capacity but the backlog outlasts a boot: still one.
  t.same(createPowerGate().tick(v, scale({ f: 1 }), seededRng(1)).actions, [{ board: 'b', op: 'wake' }])
  // A queue the powered board clears before another would boot: no wake.
  const clears: ClusterView = { ...v, boards: [board('a', 'raspberry-pi-4b', { inflight: 20, workMs: 20_000, idleSinceMs: null }), ...v.boards.slice(1)] }
  t.same(createPowerGate().tick(clears, scale({ f: 1 }), seededRng(1)).actions, [])
  // A short queue, within the latency target: no wake, even with a high forecast.
  const light: ClusterView = { ...v, boards: [board('a', 'raspberry-pi-4b', { inflight: 6, workMs: 600, idleSinceMs: null }), ...v.boards.slice(1)] }
  t.same(createPowerGate().tick(light, scale({ f: 60 }), seededRng(1)).actions, [])
  const all: ClusterView = { now: 0, boards: [board('c', 'banana-pi-m2-zero', { power: 'gated' }), board('b', 'raspberry-pi-4b', { power: 'gated' })], fns: { f: demand } }
  t.same(createPowerGate().tick(all, scale({}), seededRng(1)).actions, [{ board: 'b', op: 'wake' }])
  // All gated and demand: one wake per tick at most is enough to start, even right after gating.
  const pg = createPowerGate()
  pg.lastAction.set('b', 0)
  t.same(pg.tick({ ...all, now: 1000 }, scale({ f: 100 }), seededRng(1)).actions, [{ board: 'b', op: 'wake' }])
  t.same(powerNone.tick(all, scale({}), seededRng(1)).actions, [])
})

t.test('power gate hysteresis: minimum off-time before a wake, minimum on-time before a gate', async (t) => {
  const pg = createPowerGate({ dwellMs: 30_000, maxMinOnMs: 60_000, idleMs: 3000 })
  const on = (now: number, power: PowerState, idleSinceMs: number | null = 0): ClusterView => ({
    now,
    boards: [board('a', 'raspberry-pi-4b', { inflight: 40, workMs: 400_000, idleSinceMs: null }), board('z', 'orange-pi-zero3', { power, idleSinceMs })],
    fns: { f: demand }
  })
  const idle = (now: number): ClusterView => ({ now, boards: [board('a', 'raspberry-pi-4b', { inflight: 1, idleSinceMs: null }), board('z', 'orange-pi-zero3', { idleSinceMs: 0 })], fns: { f: demand } })
  t.same(pg.tick(idle(10_000), scale({}), seededRng(1)).actions, [{ board: 'z', op: 'gate' }])
  // Queueing right after the gate: z stays off for the dwell time, then wakes.
  t.same(pg.tick(on(20_000, 'gated'), scale({ f: 1 }), seededRng(1)).actions, [])
  t.same(pg.tick(on(40_000, 'gated'), scale({ f: 1 }), seededRng(1)).actions, [{ board: 'z', op: 'wake' }])
  // Woken, then idle: kept on for its boot break-even (22 s × 2.3 W ÷ 1 W ≈ 51 s), then gated.
  const { bootBreakEvenMs } = await import('../../../runtime/leader/policies/power-gate.js')
  const minOn = bootBreakEvenMs(getProfile('orange-pi-zero3'))
  t.ok(minOn > 30_000 && minOn < 60_000, `break-even ${minOn} ms`)
  t.same(pg.tick(idle(40_000 + minOn - 1000), scale({}), seededRng(1)).actions, [])
  t.same(pg.tick(idle(40_000 + minOn + 1000), scale({}), seededRng(1)).actions, [{ board: 'z', op: 'gate' }])
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

t.test('power gate: a board barely used over its window is gated while the others cover the forecast, never one that is used', async (t) => {
  // Two Pi 4s busy; an Orange Pi that has one run going in one tick of eight (never idle 60 s in a row).
  const boards = (now: number, oInflight: number, oPower: PowerState): ClusterView => ({
    now,
    boards: [board('a', 'raspberry-pi-4b', { inflight: 2, idleSinceMs: null }), board('b', 'raspberry-pi-4b', { inflight: 2, idleSinceMs: null }),
      board('o', 'orange-pi-zero3', { power: oPower, inflight: oPower === 'on' ? oInflight : 0, idleSinceMs: oInflight > 0 ? null : now - 1000 })],
    fns: { f: demand }
  })
  const run = (forecast: number, every: number, inflight: number): string[] => {
    const pg = createPowerGate({ idleMs: 60_000, dwellMs: 120_000, maxMinOnMs: 300_000 })
    const gated: string[] = []
    let power: PowerState = 'on'
    // 10 minutes of ticks every 5 s.
    for (let k = 1; k <= 120; k++) {
      for (const a of pg.tick(boards(k * 5000, k % every === 0 ? inflight : 0, power), scale({ f: forecast }), seededRng(1)).actions) {
        gated.push(`${a.op} ${a.board}@${k}`)
        if (a.board === 'o') power = a.op === 'gate' ? 'gated' : 'on'
      }
    }
    return gated
  }
  // Forecast 40/s × 100 ms = 4 reference cores: the two Pi 4s (8) cover it with room to spare.
  const light = run(40, 8, 1)
  t.equal(light.length, 1, JSON.stringify(light))
  t.match(light[0], /^gate o@/, 'the barely used board is gated')
  // Used a third of the time: kept.
  t.same(run(40, 3, 4), [])
  // Barely used, but the Pi 4s alone would not cover the forecast (70/s = 7 cores, + 25 %): kept.
  t.same(run(70, 8, 1), [])
})
