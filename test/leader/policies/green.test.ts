import t from 'tap'
import { getProfile } from '../../../boards/index.js'
import type { BoardView, ClusterView, PowerPolicy } from '../../../runtime/leader/policies/types.js'
import { clusterDrawW, underCap, withCap } from '../../../runtime/leader/policies/power-cap.js'
import { constantSignal, intensityAt, meanIntensity, parseCarbonCsv, seriesSignal, windows } from '../../../runtime/leader/policies/carbon-signal.js'
import { GREEN_DEFAULTS, planStart, spareAwake, viewFor } from '../../../runtime/leader/policies/green.js'
import { EnergyLearner } from '../../../runtime/leader/policies/learner.js'
import { createMuBalance } from '../../../runtime/leader/policies/balance-mu.js'
import { seededRng } from '../../../runtime/shared/rng.js'

const H = 3600_000
const board = (id: string, profile: string, o: Partial<BoardView> = {}): BoardView => ({
  id, profile: getProfile(profile), power: 'on', routable: true, queueLen: 0, inflight: 0,
  serviceRate: 0, functions: { f: { queueLen: 0, serviceRate: 0, running: 0, runtimes: 1 } }, powerW: 1, lastSeenMs: 0, idleSinceMs: 0, ...o
})
const view = (boards: BoardView[], now = 0): ClusterView => ({ now, boards, fns: { f: { arrivals: 0, inflight: 0, serviceMs: 100, concurrency: 1, memoryMb: 64 } } })
// A day's shape: 300 g until 02:00, 100 g until 04:00, 250 g after.
const day = seriesSignal([{ at: 0, g: 300 }, { at: 2 * H, g: 100 }, { at: 4 * H, g: 250 }])

t.test('a signal is a step function: constant, series, windows and means', async (t) => {
  t.equal(intensityAt(constantSignal(42), 123), 42)
  t.equal(intensityAt(day, -5), 300, 'before the first point, the first holds')
  t.equal(intensityAt(day, 2 * H), 100)
  t.equal(intensityAt(day, 10 * H), 250)
  t.same(windows(day, H, 3 * H), [{ start: H, end: 2 * H, g: 300 }, { start: 2 * H, end: 3 * H, g: 100 }])
  t.equal(meanIntensity(day, H, 3 * H), 200)
  t.throws(() => constantSignal(-1), { code: 'WISP_BAD_CONFIG' })
  t.throws(() => seriesSignal([]), { code: 'WISP_BAD_CONFIG' })
})

t.test('a CSV series parses ISO and epoch timestamps, a header, and names a bad line', async (t) => {
  const s = parseCarbonCsv('timestamp,gco2_per_kwh\n2026-01-01T00:00:00Z,200\n1767229200000,120\n')
  t.equal(intensityAt(s, Date.parse('2026-01-01T00:30:00Z')), 200)
  t.equal(intensityAt(s, Date.parse('2026-01-01T01:30:00Z')), 120)
  t.throws(() => parseCarbonCsv('2026-01-01T00:00:00Z,200\nnot-a-date,3\n'), { code: 'WISP_BAD_CONFIG', message: /line 2/ })
  t.throws(() => parseCarbonCsv('2026-01-01T00:00:00Z,abc\n'), { code: 'WISP_BAD_CONFIG' })
  t.throws(() => parseCarbonCsv('1,2,3\n'), { code: 'WISP_BAD_CONFIG' })
})

t.test('a deferrable run waits for the low window, spread over it, and never past its latest start', async (t) => {
  const rng = seededRng(7)
  const starts: number[] = []
  for (let i = 0; i < 50; i++) {
    const p = planStart({ now: H, deadlineAt: 6 * H, runMs: 1000, signal: day }, rng)
    t.equal(p.gAt, 100)
    starts.push(p.startAt)
  }
  t.ok(starts.every((s) => s >= 2 * H && s <= 4 * H), 'all within the green window')
  t.ok(Math.max(...starts) - Math.min(...starts) > H, 'spread over it, not bunched at its start')
  const same = planStart({ now: H, deadlineAt: 6 * H, runMs: 1000, signal: day }, seededRng(7))
  t.equal(same.startAt, planStart({ now: H, deadlineAt: 6 * H, runMs: 1000, signal: day }, seededRng(7)).startAt, 'seeded: the same draw for the same seed')
})

t.test('a start drawn in a green window leaves the run, its release and its receipt time to finish in it', async (t) => {
  // The live e2e case: a 50 g window 2-6 s ahead, a run of 10 ms; a start drawn at 5.95 s once ran after 6 s.
  const s = seriesSignal([{ at: 0, g: 400 }, { at: 2000, g: 50 }, { at: 6000, g: 400 }])
  const rng = seededRng(3)
  const starts = Array.from({ length: 200 }, () => planStart({ now: 0, deadlineAt: 60_000 + 30_000, runMs: 10, signal: s }, rng).startAt)
  t.ok(starts.every((x) => x >= 2000 && x <= 6000 - 20 - GREEN_DEFAULTS.windowEndMs), `all in [2000, ${6000 - 20 - GREEN_DEFAULTS.windowEndMs}] ms (latest ${Math.max(...starts).toFixed(0)})`)
  t.ok(Math.max(...starts) > 4000, 'still spread over the window')
  // A window shorter than that margin: its start.
  const short = seriesSignal([{ at: 0, g: 400 }, { at: 2000, g: 50 }, { at: 2500, g: 400 }])
  t.equal(planStart({ now: 0, deadlineAt: 90_000, runMs: 10, signal: short }, seededRng(1)).startAt, 2000)
})

t.test('a deferrable run starts now when now is as green, or when its deadline leaves no choice', async (t) => {
  t.equal(planStart({ now: 2.5 * H, deadlineAt: 8 * H, runMs: 1000, signal: day }, seededRng(1)).startAt, 2.5 * H)
  const tight = planStart({ now: H, deadlineAt: H + 60_000, runMs: 1000, signal: day }, seededRng(1))
  t.equal(tight.startAt, H, 'the green window is past the latest start')
  const edge = planStart({ now: H, deadlineAt: 2 * H + 40_000, runMs: 1000, signal: day }, seededRng(1))
  t.ok(edge.startAt <= edge.latestStart && edge.latestStart <= 2 * H + 40_000 - 2000 - 30_000, 'kept within run time × safety + slack of the deadline')
})

t.test('a budget rules out boards whose learned energy is above it; none left is WISP_OVER_BUDGET', async (t) => {
  const l = new EnergyLearner()
  const pi4 = getProfile('raspberry-pi-4b')
  const zero = getProfile('banana-pi-m2-zero')
  for (let i = 0; i < 20; i++) { l.observe('f', pi4, 100, 300); l.observe('f', zero, 400, 900) }
  const v = view([board('z', 'banana-pi-m2-zero'), board('p', 'raspberry-pi-4b')])
  const ok = viewFor(v, 'f', { budgetMj: 500 }, null, l, 100)
  t.same(ok.boards.map((b) => b.id), ['p'])
  t.equal(createMuBalance().pick(ok, 'f', seededRng(1)).choice, 'p')
  t.throws(() => viewFor(v, 'f', { budgetMj: 100 }, null, l, 100), { code: 'WISP_OVER_BUDGET', message: /least learned is 29[0-9] mJ/ })
})

t.test('a deadline rules out boards too slow or too loaded, unless none is left', async (t) => {
  const l = new EnergyLearner()
  const v = view([board('z', 'banana-pi-m2-zero'), board('p', 'raspberry-pi-4b', { inflight: 40, meanServiceMs: 100 }), board('q', 'raspberry-pi-4b')])
  // 100 ms at reference speed: the zero (speed ~0.25) needs ~400 ms; p has 40 × 100 ms ahead on 4 cores.
  t.same(viewFor(v, 'f', { deadlineMs: 300 }, 300, l, 100).boards.map((b) => b.id), ['q'])
  t.same(viewFor(v, 'f', { deadlineMs: 10 }, 10, l, 100).boards.map((b) => b.id), ['z', 'p', 'q'], 'best effort when no board fits')
})

t.test('the learner converges on a board 3x slower than its profile claims', async (t) => {
  const l = new EnergyLearner()
  const p = getProfile('raspberry-pi-4b')
  const refMs = 200
  t.equal(l.estimate('f', p, refMs).runMs.mean, refMs / p.speed, 'prior: the profile speed')
  const rng = seededRng(3)
  for (let i = 0; i < 60; i++) {
    const run = 3 * refMs / p.speed * (0.9 + 0.2 * rng())
    l.observe('f', p, run, run * 2.5, refMs)
  }
  const e = l.estimate('f', p, refMs)
  t.ok(Math.abs(e.runMs.mean / (3 * refMs / p.speed) - 1) < 0.05, `mean ${e.runMs.mean.toFixed(1)} within 5 % of 3×`)
  t.ok(Math.abs(e.energyMj.mean / (3 * refMs / p.speed * 2.5) - 1) < 0.05, 'energy too')
  t.ok(e.runMs.variance > 0 && Math.sqrt(e.runMs.variance) < 0.15 * e.runMs.mean, 'variance of the ±10 % noise')
  t.equal(e.samples, 60)
  l.observe('f', p, Number.NaN, 1)
  t.equal(l.estimate('f', p, refMs).samples, 60, 'a non-finite receipt is ignored')
})

t.test('deferred work starts only on an awake board with a free core', async (t) => {
  t.ok(spareAwake(view([board('p', 'raspberry-pi-4b', { inflight: 3 })])), '3 of 4 cores busy')
  t.notOk(spareAwake(view([board('p', 'raspberry-pi-4b', { inflight: 4 })])), 'every core busy')
  t.notOk(spareAwake(view([board('p', 'raspberry-pi-4b', { queueLen: 9 })])), 'a gossiped queue counts')
  t.notOk(spareAwake(view([board('g', 'raspberry-pi-4b', { power: 'gated', routable: false })])), 'a gated board is not awake')
})

t.test('a power cap drops wakes over it and gates the least useful boards, keeping one routable', async (t) => {
  const none: PowerPolicy = { name: 'none', intervalMs: 1000, tick: () => ({ actions: [], decisions: [] }) }
  const waker: PowerPolicy = { name: 'waker', intervalMs: 1000, tick: () => ({ actions: [{ board: 'g', op: 'wake' }], decisions: [] }) }
  const scale = { targets: {}, forecast: {}, decisions: [] }
  const v = view([
    board('busy', 'raspberry-pi-4b', { powerW: 5, inflight: 3 }),
    board('idle', 'raspberry-pi-4b', { powerW: 3, inflight: 0 }),
    board('zero', 'banana-pi-m2-zero', { powerW: 1, inflight: 0 }),
    board('g', 'raspberry-pi-4b', { power: 'gated', routable: false, powerW: 0 })
  ])
  t.equal(clusterDrawW(v), 9)
  t.ok(underCap(v, null) && underCap(v, 9) && !underCap(v, 8))
  t.same(withCap(none, () => null).tick(v, scale, seededRng(1)).actions, [], 'no cap: the inner plan as is')
  const p = withCap(none, () => 6).tick(v, scale, seededRng(1))
  t.same(p.actions, [{ board: 'zero', op: 'gate' }, { board: 'idle', op: 'gate' }], 'idle boards first, the less efficient of them first, until under the cap')
  t.equal(p.decisions.at(-1)?.policy, 'cap')
  t.same(withCap(none, () => 1).tick(v, scale, seededRng(1)).actions.map((a) => a.board), ['zero', 'idle'], 'never the last routable board')
  t.same(withCap(waker, () => 10).tick(v, scale, seededRng(1)).actions, [], 'a wake that would pass the cap is dropped')
  t.same(withCap(waker, () => 20).tick(v, scale, seededRng(1)).actions, [{ board: 'g', op: 'wake' }], 'one within it is kept')
})

t.test('under a cap, the boards kept leave the most headroom for work: the most idle watts per capacity go first', async (t) => {
  const none: PowerPolicy = { name: 'none', intervalMs: 1000, tick: () => ({ actions: [], decisions: [] }) }
  const scale = { targets: {}, forecast: {}, decisions: [] }
  const at = (id: string, profile: string): BoardView => board(id, profile, { powerW: getProfile(profile).idle_w })
  // wisp start's mix, all idle (5.2 W). A 3.3 W cap: keeping the Pi 4 alone (2.7 W idle, best at full
  // load) would leave 0.6 W for work; the Zero 2 W and Orange Pi Zero 3 idle at 1.6 W together.
  const v = view([at('pi4', 'raspberry-pi-4b'), at('zero2w', 'raspberry-pi-zero-2w'), at('bpi', 'banana-pi-m2-zero'), at('opi', 'orange-pi-zero3')])
  const p = withCap(none, () => 3.3).tick(v, scale, seededRng(1))
  t.same(p.actions.map((a) => a.board), ['bpi', 'pi4'], 'the Banana Pi (0.9 W idle per core-speed), then the Pi 4 (0.68)')
  const kept = v.boards.filter((b) => !p.actions.some((a) => a.board === b.id))
  const idle = kept.reduce((s, b) => s + b.powerW, 0)
  t.ok(3.3 - idle > 1.5, `headroom for work under the cap: ${(3.3 - idle).toFixed(2)} W`)
})
