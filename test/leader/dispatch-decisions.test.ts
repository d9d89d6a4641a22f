import t from 'tap'
import { Aedes } from 'aedes'
import { createHash } from 'node:crypto'
import { loadProfiles } from '../../boards/index.js'
import type { BoardState, Manifest } from '../../runtime/protocol/messages.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { Leader } from '../../runtime/leader/leader.js'
import type { Registry } from '../../runtime/leader/registry.js'
import { createMuBalance } from '../../runtime/leader/policies/balance-mu.js'
import { ManualClock } from '../../runtime/shared/clock.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { seededRng } from '../../runtime/shared/rng.js'
import { AedesTransport } from '../../runtime/transport/aedes-transport.js'

// The live leader's dispatch decisions on a seeded scenario (gossip, dispatches, completions, time
// passing) must stay exactly what they were when this fingerprint was taken: a change that only
// makes the dispatch path cheaper must not change a single choice.
const EXPECTED = '203de7ca5abdc9b6'

t.test('the dispatch decisions on a seeded 300-board scenario are unchanged', async (t) => {
  const BOARDS = 300
  const FNS = 3000
  const rng = seededRng(5)
  const profiles = [...loadProfiles().values()].filter((p) => p.gateable)
  const clock = new ManualClock(1_000_000)
  const manifests: Manifest[] = Array.from({ length: FNS }, (_, i) => ({
    v: 1, name: `fn-${i}`, sha256: createHash('sha256').update(`fn-${i}`).digest('hex'), size: 100, memory_mb: 64, timeout_ms: 10_000, concurrency: 1 + (i % 3), isolation: 'shared'
  }))
  const byName = new Map(manifests.map((m) => [m.name, m]))
  const registry = { get: (fn: string) => byName.get(fn), list: () => [...byName.values()] } as unknown as Registry
  const aedes = new Aedes()
  t.teardown(() => { aedes.close() })
  const leader = new Leader({ transport: new AedesTransport(aedes), topics: new Topics(), registry, clock, rng: seededRng(7), balance: createMuBalance(), profiles: new Map(profiles.map((p) => [p.name, p])), log: silentLogger })
  const seq = new Array<number>(BOARDS).fill(0)
  const gossip = (i: number): void => {
    const functions: BoardState['functions'] = {}
    for (let k = 0; k < 12; k++) functions[`fn-${Math.floor(rng() * FNS)}`] = { queue_len: Math.floor(rng() * 3), service_rate: rng() * 8, running: Math.floor(rng() * 2), runtimes: Math.floor(rng() * 3) }
    leader.cluster.onState({
      v: 1, id: `b${i}`, incarnation: '0000000001', profile: profiles[i % profiles.length]!.name, status: 'online', ts: clock.now(), seq: ++seq[i]!,
      power_w: 2, energy_j: 0, queue_len: Math.floor(rng() * 8), service_rate: 10, functions, mem_mb: 100, power_source: 'surrogate'
    })
  }
  for (let i = 0; i < BOARDS; i++) gossip(i)
  const pickRng = seededRng(9)
  const balance = createMuBalance()
  const running: Array<[string, string]> = []
  let fp = ''
  for (let step = 0; step < 20_000; step++) {
    const fn = `fn-${Math.floor(rng() * FNS)}`
    leader.demand.arrive(fn)
    const choice = balance.pick(leader.dispatchView(byName.get(fn)!), fn, pickRng).choice
    fp += `${choice ?? '-'},`
    if (choice !== null) { leader.cluster.addInflight(choice, fn, 1); running.push([choice, fn]) }
    const r = rng()
    if (r < 0.3 && running.length > 0) {
      const [b, f] = running.splice(Math.floor(rng() * running.length), 1)[0]!
      leader.cluster.addInflight(b, f, -1)
      leader.cluster.complete(b, f, Math.floor(rng() * 300))
    } else if (r < 0.35) gossip(Math.floor(rng() * BOARDS))
    else if (r < 0.4) clock.advance(Math.floor(rng() * 200))
    // A view handed out between decisions (the status page, the scale tick) must not disturb them.
    if (step % 97 === 0) leader.cluster.view()
  }
  const got = createHash('sha256').update(fp).digest('hex').slice(0, 16)
  t.ok(new Set(fp.split(',')).size > BOARDS / 2, 'the decisions spread over the boards (the scenario routes)')
  t.equal(got, EXPECTED, 'same choices, in the same order')
})
