import t from 'tap'
import { loadProfiles } from '../../boards/index.js'
import { ClusterState, MAX_BOARDS, PRUNE_OFFLINE_MS } from '../../runtime/leader/cluster-state.js'
import { INCARNATION_MAX_AHEAD_MS } from '../../runtime/protocol/incarnation.js'
import type { BoardState } from '../../runtime/protocol/messages.js'
import { ManualClock } from '../../runtime/shared/clock.js'
import { clusterDrawW } from '../../runtime/leader/policies/power-cap.js'
import { busyPowerW } from '../../runtime/board-model/power.js'

const profiles = loadProfiles()
const state = (over: Partial<BoardState> = {}): BoardState => ({
  v: 1, id: 'b1', incarnation: '00000000a-aaaaaa', profile: 'raspberry-pi-4b', status: 'online', ts: 0, seq: 1,
  power_w: 2.7, energy_j: 0, queue_len: 0, service_rate: 0, functions: {}, mem_mb: 0, power_source: 'ina219', ...over
})

t.test('orders gossip by incarnation, then seq', async (t) => {
  const c = new ClusterState(new ManualClock(), profiles, 3500)
  t.equal(c.onState(state({ seq: 5 })), 'joined')
  t.equal(c.onState(state({ seq: 4, queue_len: 9 })), 'stale', 'an older seq of the same boot is ignored')
  t.equal(c.view().boards[0]?.queueLen, 0)
  t.equal(c.onState(state({ seq: 6, queue_len: 2 })), 'updated')
  t.equal(c.onState(state({ incarnation: '000000009-ffffff', seq: 99 })), 'stale', 'an older boot is ignored')
  t.equal(c.onState(state({ incarnation: '00000000b-000000', seq: 1 })), 'joined', 'a newer boot replaces it')
  t.equal(c.get('b1')?.incarnation, '00000000b-000000')
})

t.test('a Last Will of the current boot makes the board offline, once; an old boot\'s will is ignored', async (t) => {
  const c = new ClusterState(new ManualClock(), profiles, 3500)
  c.onState(state())
  t.equal(c.onState({ v: 1, id: 'b1', incarnation: '000000001-000000', status: 'offline', ts: 0 }), 'stale')
  t.ok(c.routable('b1'))
  t.equal(c.onState({ v: 1, id: 'b1', incarnation: '00000000a-aaaaaa', status: 'offline', ts: 0 }), 'offline')
  t.equal(c.onState({ v: 1, id: 'b1', incarnation: '00000000a-aaaaaa', status: 'offline', ts: 0 }), 'stale', 'a repeated offline is not news')
  t.notOk(c.routable('b1'))
  t.equal(c.view().boards[0]?.power, 'offline')
})

t.test('missed gossip ages a board out; draining and gated boards are never routable', async (t) => {
  const clock = new ManualClock()
  const c = new ClusterState(clock, profiles, 3500)
  c.onState(state())
  c.onState(state({ id: 'b2', seq: 1 }))
  c.onState(state({ id: 'b3', seq: 1, status: 'draining' }))
  t.same(c.view().boards.map((b) => [b.id, b.routable]), [['b1', true], ['b2', true], ['b3', false]])
  c.setPower('b2', 'gated')
  t.notOk(c.routable('b2'))
  t.equal(c.view().boards[1]?.power, 'gated')
  clock.advance(3000)
  c.onState(state({ seq: 2 }))
  clock.advance(1000)
  t.same(c.sweep(), ['b2', 'b3'], 'boards quiet for more than 3.5 s are offline')
  t.ok(c.routable('b1'), 'b1 gossiped 1 s ago')
  t.same(c.sweep(), [], 'each is reported once')
})

t.test('unknown profiles are not admitted; in-flight accounting is exact', async (t) => {
  const clock = new ManualClock()
  const c = new ClusterState(clock, profiles, 3500)
  t.equal(c.onState(state({ profile: 'cray-1' })), 'unknown-profile')
  c.onState(state())
  c.addInflight('b1', 'f', 1)
  c.addInflight('b1', 'f', 1)
  t.equal(c.view().boards[0]?.inflight, 2)
  t.equal(c.view().boards[0]?.functions.f?.queueLen, 2, 'the leader\'s count stands in until gossip has the function')
  t.equal(c.view().boards[0]?.idleSinceMs, null)
  clock.advance(500)
  c.addInflight('b1', 'f', -1)
  c.addInflight('b1', 'f', -1)
  c.addInflight('b1', 'f', -1)
  t.equal(c.view().boards[0]?.inflight, 0, 'never negative')
  t.equal(c.view().boards[0]?.idleSinceMs, 500)
})

t.test('incarnations carry a boot time: far-future ones are ignored, a live board only yields to a newer boot', async (t) => {
  const wall = 1_700_000_000_000
  const inc = (ms: number, r = 'aaaaaa'): string => `${ms.toString(36).padStart(9, '0')}-${r}`
  const c = new ClusterState(new ManualClock(), profiles, 3500, () => wall)
  t.equal(c.onState(state({ incarnation: inc(wall - 1000) })), 'joined')
  t.equal(c.onState(state({ incarnation: inc(wall + INCARNATION_MAX_AHEAD_MS + 1) })), 'future')
  t.equal(c.onState({ v: 1, id: 'b1', incarnation: inc(wall + INCARNATION_MAX_AHEAD_MS + 1), status: 'offline', ts: 0 }), 'future')
  t.equal(c.onState(state({ incarnation: inc(wall - 5000, 'ffffff') })), 'stale', 'an older boot time loses whatever its random part')
  t.equal(c.onState({ v: 1, id: 'b1', incarnation: inc(wall - 1000), status: 'offline', ts: 0 }), 'offline')
  t.equal(c.onState(state({ incarnation: inc(wall - 9000) })), 'joined', 'an offline board may come back with a clock that went back')
  t.equal(c.onState({ v: 1, id: 'b1', incarnation: inc(wall - 20_000), status: 'offline', ts: 0 }), 'stale', 'an older boot\'s will does not touch it')
})

t.test('boards offline for long are pruned unless gated or busy; the view is capped', async (t) => {
  const clock = new ManualClock()
  const c = new ClusterState(clock, profiles, 3500)
  c.onState(state())
  c.onState(state({ id: 'b2' }))
  c.onState(state({ id: 'b3' }))
  c.setPower('b2', 'gated')
  c.addInflight('b3', 'f', 1)
  clock.advance(4000)
  t.same(c.sweep(), ['b1', 'b2', 'b3'])
  clock.advance(PRUNE_OFFLINE_MS + 1)
  c.sweep()
  t.same(c.view().boards.map((b) => b.id), ['b2', 'b3'], 'the gated board and the one with work in flight stay known')
  const outcomes = new Set<string>()
  for (let i = c.size; i < MAX_BOARDS; i++) outcomes.add(c.onState(state({ id: `x${i}` })))
  t.same([...outcomes], ['joined'])
  t.equal(c.onState(state({ id: 'one-too-many' })), 'full')
  t.equal(c.onState(state({ id: 'b3', seq: 2 })), 'updated', 'a known board still comes back when the view is full')
  t.ok(c.routable('b3'))
})

t.test('a board whose power is unknown is counted at its profile\'s model, not at its stale reading', async (t) => {
  const c = new ClusterState(new ManualClock(), profiles, 3500)
  const pi = profiles.get('raspberry-pi-4b')!
  c.onState(state({ power_w: 6.1 }))
  t.equal(c.view().boards[0]?.powerW, 6.1, 'a measured power is read as gossiped')
  t.equal(c.view().boards[0]?.powerUnknown, undefined)
  const busy = { f: { queue_len: 3, service_rate: 1, running: 2, runtimes: 2 } }
  c.onState(state({ seq: 2, power_w: 6.1, power_unknown: true, functions: busy }))
  const b = c.view().boards[0]!
  t.equal(b.powerUnknown, true)
  t.equal(b.powerW, busyPowerW(pi, 2), 'the model at the two cores the board reports running')
  t.not(b.powerW, 6.1)
  t.equal(clusterDrawW(c.view()), busyPowerW(pi, 2), 'the power cap counts the modelled draw')
  t.same(c.fullView().boards[0], b, 'the incremental view and the full one agree')
  c.onState(state({ seq: 3, power_w: 3.2 }))
  t.equal(c.view().boards[0]?.powerW, 3.2, 'a reading again: measured')
  t.equal(c.view().boards[0]?.powerUnknown, undefined)
})

// A functions record built key by key from `{}` stays a fast-mode object whose hidden class is
// one path in a transition tree over every function name (10,000 on a large cluster): a pick's
// `b.functions[fn]` is then a megamorphic keyed load that misses V8's stub cache on nearly every
// board. A record with no prototype is a dictionary from the start (one hashed lookup), and a
// function name is never taken for something inherited. Checked on every path that builds one:
// a board's gossip, the copy an in-flight change makes of a board in a view handed out, and the
// in-place patch of one in no view.
t.test('a board\'s functions record is a dictionary with no prototype, however its view was built', async (t) => {
  const clock = new ManualClock(1000)
  const c = new ClusterState(clock, profiles, 3500)
  const fn = { queue_len: 0, service_rate: 1, running: 0, runtimes: 1 }
  c.onState(state({ functions: { f1: fn, f2: fn } }))
  const proto = (v: ReturnType<ClusterState['view']>): unknown => Object.getPrototypeOf(v.boards[0]!.functions)
  t.equal(proto(c.view()), null, 'built from gossip')
  c.addInflight('b1', 'f3', 1)
  const copied = c.view()
  t.equal(proto(copied), null, 'copied for an in-flight change after a view was handed out')
  t.same(Object.keys(copied.boards[0]!.functions), ['f1', 'f2', 'f3'], 'in gossip order, then the leader\'s')
  c.addInflight('b1', 'f1', 1)
  c.addInflight('b1', 'f3', -1)
  const patched = c.transientView()
  t.equal(proto(patched), null, 'patched in place')
  t.same(Object.keys(patched.boards[0]!.functions), ['f1', 'f2'])
  t.equal(patched.boards[0]!.functions.f1?.queueLen, 1)
  t.equal(c.fullView().boards[0]!.functions.f1?.queueLen, 1)
})
