/**
 * Decision time of the Mu balancer on a large cluster: 1,000 boards × 10,000 functions, each
 * function warm on 3 boards (the leader keeps the holders index up to date as gossip arrives).
 * Writes bench/results/routing.json; goal ≤ 10 µs per decision.
 */
import { loadProfiles } from '../../boards/index.js'
import type { BoardView, ClusterView, FnDemand, FnView } from '../../runtime/leader/policies/types.js'
import { createMuBalance } from '../../runtime/leader/policies/balance-mu.js'
import { seededRng } from '../../runtime/shared/rng.js'
import { figure, writeResult } from './lib/figures.js'

const BOARDS = 1000
const FNS = 10_000
const HOLDERS = 3
const rng = seededRng(42)
const profiles = [...loadProfiles().values()].filter((p) => p.gateable)
const fnNames = Array.from({ length: FNS }, (_, i) => `fn-${i}`)
const funcs: Array<Record<string, FnView>> = Array.from({ length: BOARDS }, () => ({}))
const holders: Record<string, number[]> = {}
const fns: Record<string, FnDemand> = {}
for (const fn of fnNames) {
  holders[fn] = []
  fns[fn] = { arrivals: 0, inflight: 0, serviceMs: 20 + rng() * 500, concurrency: 1, memoryMb: 64 }
  for (let k = 0; k < HOLDERS; k++) {
    const b = Math.floor(rng() * BOARDS)
    holders[fn]!.push(b)
    funcs[b]![fn] = { queueLen: Math.floor(rng() * 3), serviceRate: 5, running: 1, runtimes: 1 + Math.floor(rng() * 2), serviceMs: 50 + rng() * 300 }
  }
}
const boards: BoardView[] = funcs.map((f, i) => ({
  id: `b${i}`, profile: profiles[i % profiles.length]!, power: 'on', routable: true, queueLen: Math.floor(rng() * 8), inflight: Math.floor(rng() * 8),
  serviceRate: 10, functions: f, powerW: 2, lastSeenMs: 0, idleSinceMs: null, meanServiceMs: 100
}))
const view: ClusterView = { now: 1000, boards, fns, holders }
const mu = createMuBalance()
const pickRng = seededRng(7)
const order = Array.from({ length: 1 << 16 }, () => fnNames[Math.floor(rng() * FNS)]!)
let sink = 0
for (let i = 0; i < 200_000; i++) sink += mu.pick(view, order[i & 0xffff]!, pickRng).choice === null ? 0 : 1
const N = 1_000_000
const t0 = process.hrtime.bigint()
for (let i = 0; i < N; i++) sink += mu.pick(view, order[i & 0xffff]!, pickRng).choice === null ? 0 : 1
const us = Number(process.hrtime.bigint() - t0) / 1000 / N
writeResult('routing', [figure({ figure: `balance-mu decision time, ${BOARDS} boards × ${FNS} functions (${HOLDERS} warm boards each, holders index, 2 random others)`, value: us, unit: 'µs', baseline: null, baseline_value: null, goal: '<= 10', met: us <= 10 })])
process.stdout.write(`balance-mu: ${us.toFixed(2)} µs per decision (${sink > 0 ? 'ok' : 'none routed'})\n`)
