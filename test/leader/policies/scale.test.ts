import t from 'tap'
import { getProfile } from '../../../boards/index.js'
import type { BoardView, ClusterView, FnDemand } from '../../../runtime/leader/policies/types.js'
import { createKpa } from '../../../runtime/leader/policies/scale-knative-kpa.js'
import { createProactiveScale } from '../../../runtime/leader/policies/scale-proactive.js'
import { erlangC, serversFor, holtUpdate, holtForecast } from '../../../runtime/leader/policies/queueing.js'
import { seededRng } from '../../../runtime/shared/rng.js'

const rng = seededRng(1)
const withRuntimes = (n: number): BoardView => ({
  id: 'b1', profile: getProfile('raspberry-pi-4b'), power: 'on', routable: true, queueLen: 0, inflight: 0, serviceRate: 0,
  functions: { f: { queueLen: 0, serviceRate: 0, running: 0, runtimes: n } }, powerW: 3, lastSeenMs: 0, idleSinceMs: null
})
const view = (now: number, d: Partial<FnDemand>, runtimes: number): ClusterView => ({
  now, boards: [withRuntimes(runtimes)], fns: { f: { arrivals: 0, inflight: 0, serviceMs: 100, concurrency: 1, memoryMb: 64, ...d } }
})

t.test('KPA: stable mode sizes runtimes as ceil(60 s average concurrency / (concurrency x 0.7))', async (t) => {
  const kpa = createKpa()
  let r = kpa.tick(view(1000, { inflight: 1.4 }, 1), rng)
  t.equal(r.targets.f, 2)
  // One ready runtime asked for two is itself a panic (2 >= 200 % of 1); a stable window later it is over.
  t.equal(r.decisions[0]?.inputs?.panic, true)
  for (let s = 2; s <= 70; s++) r = kpa.tick(view(s * 1000, { inflight: 1.4 }, 2), rng)
  t.equal(r.targets.f, 2)
  t.equal(r.decisions[0]?.inputs?.panic, false)
})

t.test('KPA: panic mode kicks in at 2x target within the 6 s window, and never scales down in it', async (t) => {
  const kpa = createKpa()
  let now = 0
  // A minute steady at 0.7 (one runtime, exactly on target).
  for (let s = 0; s < 60; s++) kpa.tick(view(now += 1000, { inflight: 0.7 }, 1), rng)
  // The surge: concurrency 3 => the 6 s window wants ceil(avg/0.7) >= 2 x 1 ready.
  let panicAt = -1
  let r = kpa.tick(view(now += 1000, { inflight: 3 }, 1), rng)
  for (let s = 1; s <= 6 && panicAt < 0; s++) {
    if (r.decisions[0]?.inputs?.panic === true) panicAt = s
    else r = kpa.tick(view(now += 1000, { inflight: 3 }, 1), rng)
  }
  t.ok(panicAt >= 1 && panicAt <= 6, `panic after ${panicAt} s`)
  const inPanic = r.targets.f ?? 0
  t.ok(inPanic >= 2, `panic target ${inPanic}`)
  // The stable window alone would still say 1-2; panic keeps the higher target even as load falls.
  r = kpa.tick(view(now += 1000, { inflight: 0.1 }, inPanic), rng)
  t.equal(r.targets.f, inPanic)
})

t.test('KPA: scale to zero only after the grace period', async (t) => {
  const kpa = createKpa({ stableWindowMs: 6000, panicWindowMs: 1000 })
  let now = 0
  kpa.tick(view(now += 1000, { inflight: 0.5 }, 1), rng)
  let zeroAt = -1
  for (let s = 0; s < 60 && zeroAt < 0; s++) {
    const r = kpa.tick(view(now += 1000, { inflight: 0 }, 1), rng)
    if (r.targets.f === 0) zeroAt = now
  }
  t.ok(zeroAt >= 30_000, `zero at ${zeroAt}`)
})

t.test('Erlang C and the M/M/c sizing', async (t) => {
  t.equal(erlangC(1, 0.5), 0.5)
  t.ok(Math.abs(erlangC(2, 1) - 1 / 3) < 1e-12)
  t.equal(erlangC(2, 3), 1)
  t.equal(serversFor(0, 100, 100), 0)
  const c = serversFor(50, 100, 200)
  t.ok(c >= 6 && c <= 9, `c=${c}`)
  t.ok(serversFor(50, 100, 0) > c)
})

t.test('Holt forecast follows a trend', async (t) => {
  let s = { level: 0, trend: 0, errVar: 0, n: 0 }
  for (let i = 0; i < 30; i++) s = holtUpdate(s, 10 + i, 0.5, 0.3)
  t.ok(Math.abs(holtForecast(s, 1) - 40) < 1.5, String(holtForecast(s, 1)))
})

t.test('proactive: warms ahead of a ramp, keeps one runtime while recently used, then zero', async (t) => {
  const p = createProactiveScale({ idleToZeroMs: 10_000 })
  let now = 0
  let r = p.tick(view(now += 2000, { arrivals: 20 }, 0), rng)
  const first = r.targets.f ?? 0
  for (let k = 2; k <= 8; k++) r = p.tick(view(now += 2000, { arrivals: 20 * k }, first), rng)
  t.ok((r.forecast.f ?? 0) > 80, `forecast ${r.forecast.f}`)
  t.ok((r.targets.f ?? 0) > first)
  t.equal(r.decisions[0]?.kind, 'scale')
  for (let k = 0; k < 3; k++) r = p.tick(view(now += 2000, { arrivals: 0 }, 1), rng)
  t.ok((r.targets.f ?? 0) >= 1)
  for (let k = 0; k < 20; k++) r = p.tick(view(now += 2000, { arrivals: 0 }, 1), rng)
  t.equal(r.targets.f, 0)
})
