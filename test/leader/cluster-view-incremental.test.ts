import t from 'tap'
import { isDeepStrictEqual } from 'node:util'
import { loadProfiles } from '../../boards/index.js'
import { ClusterState } from '../../runtime/leader/cluster-state.js'
import type { ClusterView } from '../../runtime/leader/policies/types.js'
import type { BoardState } from '../../runtime/protocol/messages.js'
import { ManualClock } from '../../runtime/shared/clock.js'
import { seededRng } from '../../runtime/shared/rng.js'

const profiles = loadProfiles()
const FNS = ['a', 'b', 'c', 'd', 'e']

/** Holders by a scan of the boards: what balancers compute when the index is absent. */
const scanHolders = (v: ClusterView): Record<string, number[]> => {
  const out: Record<string, number[]> = {}
  v.boards.forEach((b, i) => { for (const fn of Object.keys(b.functions).sort()) if ((b.functions[fn]?.runtimes ?? 0) > 0) (out[fn] ??= []).push(i) })
  return out
}
const nonEmpty = (h: Readonly<Record<string, readonly number[]>> | undefined): Record<string, number[]> =>
  Object.fromEntries(Object.entries(h ?? {}).filter(([, xs]) => xs.length > 0).map(([fn, xs]) => [fn, [...xs]]))

// Views handed out on every step, and (seeds 4–6) only now and then: in between, the dispatch
// path's in-flight changes patch the boards no view handed out holds in place.
t.test('the incremental view equals a view built from scratch after every kind of change', async (t) => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const rng = seededRng(seed)
    const every = seededRng(seed + 100)
    const clock = new ManualClock(1000)
    const c = new ClusterState(clock, profiles, 3500)
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!
    const seq = new Map<string, number>()
    const inflight = new Map<string, Array<[string, string]>>()
    let mismatches = 0
    const held: ClusterView[] = []
    for (let step = 0; step < 3000; step++) {
      const id = `b${Math.floor(rng() * 12)}`
      const op = rng()
      if (op < 0.35) {
        const functions: BoardState['functions'] = {}
        for (const fn of FNS) if (rng() < 0.4) functions[fn] = { queue_len: Math.floor(rng() * 3), service_rate: rng() * 5, running: Math.floor(rng() * 2), runtimes: Math.floor(rng() * 3) }
        const n = (seq.get(id) ?? 0) + 1
        seq.set(id, n)
        c.onState({ v: 1, id, incarnation: '00000000a-aaaaaa', profile: 'raspberry-pi-4b', status: rng() < 0.9 ? 'online' : 'draining', ts: 0, seq: n, power_w: 2, energy_j: 0, queue_len: Math.floor(rng() * 4), service_rate: 1, functions, mem_mb: 0, power_source: 'ina219' })
      } else if (op < 0.55) {
        const fn = pick(FNS)
        c.addInflight(id, fn, 1)
        inflight.set(id, [...(inflight.get(id) ?? []), [id, fn]])
      } else if (op < 0.7) {
        const list = inflight.get(id) ?? []
        const done = list.pop()
        if (done !== undefined) { c.addInflight(done[0], done[1], -1); c.complete(done[0], done[1], Math.floor(rng() * 200)) }
      } else if (op < 0.78) {
        c.setPower(id, pick(['on', 'shutting-down', 'gated', 'booting', 'on'] as const))
      } else if (op < 0.82) {
        c.onState({ v: 1, id, incarnation: '00000000a-aaaaaa', status: 'offline', ts: 0 })
      } else if (op < 0.95) {
        clock.advance(Math.floor(rng() * 1500))
      } else {
        c.sweep()
      }
      // The dispatch path's view (no copy) agrees with the view handed out, value for value.
      const tv = c.transientView()
      if (!isDeepStrictEqual(tv.boards, c.fullView().boards)) {
        mismatches++
        if (mismatches === 1) t.same(tv.boards, c.fullView().boards, `seed ${seed} step ${step}: transient view`)
      }
      if (seed > 3 && every() < 0.85) continue
      const v = c.view()
      const ref = c.fullView()
      const same = isDeepStrictEqual(v.boards, ref.boards) && v.now === ref.now && isDeepStrictEqual(nonEmpty(v.holders), scanHolders(ref))
      if (!same) {
        mismatches++
        if (mismatches === 1) t.same({ boards: v.boards, holders: nonEmpty(v.holders) }, { boards: ref.boards, holders: scanHolders(ref) }, `seed ${seed} step ${step}`)
      }
      if (step % (seed > 3 ? 50 : 500) < (seed > 3 ? 10 : 1)) {
        held.push(v)
        held.push({ now: v.now, boards: JSON.parse(JSON.stringify(v.boards)) as ClusterView['boards'] })
      }
    }
    t.equal(mismatches, 0, `seed ${seed}: incremental and full views agree at every step`)
    for (let k = 0; k < held.length; k += 2) t.same(JSON.parse(JSON.stringify(held[k]!.boards)), held[k + 1]!.boards, 'a view handed out is not changed by later events')
  }
})

t.test('a view with nothing changed is the same view; an aged-out board stops being routable without news', async (t) => {
  const clock = new ManualClock(0)
  const c = new ClusterState(clock, profiles, 3500)
  c.onState({ v: 1, id: 'b1', incarnation: '00000000a-aaaaaa', profile: 'raspberry-pi-4b', status: 'online', ts: 0, seq: 1, power_w: 2, energy_j: 0, queue_len: 0, service_rate: 1, functions: { f: { queue_len: 0, service_rate: 1, running: 0, runtimes: 1 } }, mem_mb: 0, power_source: 'ina219' })
  const a = c.view()
  t.equal(c.view().boards, a.boards, 'no change: no rebuild')
  t.same(a.holders, { f: [0] })
  clock.advance(3500)
  t.equal(c.view().boards[0]?.routable, true, 'at exactly staleMs it is still routable')
  clock.advance(1)
  t.equal(c.view().boards[0]?.routable, false, 'one ms later it is not')
  t.equal(a.boards[0]?.routable, true, 'the earlier view is unchanged')
})
