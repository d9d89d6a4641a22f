import { seededRng } from '../../runtime/shared/rng.js'
import { FaultCluster } from './fault-cluster.js'
import { LoadClient, quantile, type LoadStats, type Outcome } from './load.js'

export type FaultKind = 'kill9-board' | 'sigstop-board-5s' | 'restart-gateway' | 'tcp-drop-board'

export interface FaultRecord {
  readonly kind: FaultKind
  readonly board: string | null
  /** Seconds into the load when it was injected. */
  readonly atS: number
  /** Latency of requests sent in the 5 s after the fault, and in the 5 s after that. */
  readonly during: { p50Ms: number, p99Ms: number, n: number }
  readonly after: { p50Ms: number, p99Ms: number, n: number }
  /** From the fault to the first ok reply to a request sent after it. */
  readonly recoverMs: number
}

export interface FaultRunResult {
  readonly seed: number
  readonly seconds: number
  readonly rate: number
  readonly stats: LoadStats
  readonly faults: readonly FaultRecord[]
  readonly baseline: { p50Ms: number, p99Ms: number }
  /** When each lost request was sent, seconds into the load. */
  readonly lostAtS: readonly number[]
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/**
 * Steady load on a real cluster while a seeded schedule injects, once each at a random moment:
 * kill -9 of a board, SIGSTOP of a board for 5 s, kill -9 and restart of the gateway (broker +
 * leader), and a dropped TCP connection of a board. Every request id is counted.
 */
export const runFaults = async (o: { seconds: number, rate: number, seed: number, boards?: number, log?: (s: string) => void }): Promise<FaultRunResult> => {
  const rng = seededRng(o.seed)
  const boards = o.boards ?? 4
  const c = await FaultCluster.start({ boards })
  const log = o.log ?? (() => {})
  try {
    const load = await LoadClient.connect(c.url, 'faults')
    try {
      // Warm every board, then a calm baseline.
      for (let i = 0; i < 4 * boards; i++) load.send('primes', { n: 20000 })
      await load.settle(30_000)
      const warm = new Set(load.outcomes.keys())
      const t0 = performance.now()
      const kinds: FaultKind[] = ['kill9-board', 'sigstop-board-5s', 'restart-gateway', 'tcp-drop-board']
      // Order shuffled by the seed; moments spread over the middle of the run, at least 5 s apart.
      for (let i = kinds.length - 1; i > 0; i--) { const j = Math.floor(rng() * (i + 1)); [kinds[i], kinds[j]] = [kinds[j] as FaultKind, kinds[i] as FaultKind] }
      const slot = (o.seconds * 0.7) / kinds.length
      const plan = kinds.map((kind, i) => ({ kind, atS: o.seconds * 0.1 + slot * i + rng() * Math.max(0, slot - 5) }))
      const victims = c.boards.slice(0, boards - 1) // the last board is the one behind the TCP relay
      const faults: Array<{ kind: FaultKind, board: string | null, at: number }> = []
      const injector = (async () => {
        for (const p of plan) {
          const wait = t0 + p.atS * 1000 - performance.now()
          if (wait > 0) await sleep(wait)
          const at = performance.now()
          let board: string | null = null
          if (p.kind === 'kill9-board') {
            const b = victims[Math.floor(rng() * victims.length)]
            board = b?.id ?? null
            if (b?.pid !== undefined) process.kill(b.pid, 'SIGKILL')
          } else if (p.kind === 'sigstop-board-5s') {
            const b = victims[Math.floor(rng() * victims.length)]
            board = b?.id ?? null
            const pid = b?.pid
            if (pid !== undefined) { process.kill(pid, 'SIGSTOP'); await sleep(5000); try { process.kill(pid, 'SIGCONT') } catch { /* gone */ } }
          } else if (p.kind === 'restart-gateway') {
            await c.restartGateway()
          } else {
            board = c.boards[boards - 1]?.id ?? null
            c.blip.drop()
          }
          faults.push({ kind: p.kind, board, at })
          log(`${((at - t0) / 1000).toFixed(1)} s: ${p.kind}${board === null ? '' : ` ${board}`}`)
        }
      })()
      // Steady open-loop load: requests go out on schedule whatever the replies do.
      const total = Math.round(o.seconds * o.rate)
      for (let i = 0; i < total; i++) {
        const wait = t0 + (i / o.rate) * 1000 - performance.now()
        if (wait > 0) await sleep(wait)
        load.send('primes', { n: 20000 })
      }
      await injector
      // Every deadline (wait_ms 10 s + timeout_ms 10 s) plus the grace has passed by then.
      await load.settle(45_000)
      // WISP_DEBUG_DUPLICATES=1: every request answered more than once, with its replies' boards and times.
      if (process.env.WISP_DEBUG_DUPLICATES === '1') for (const o of load.outcomes.values()) if (o.replies.length > 1) console.error('DUP', JSON.stringify({ ...o, t0 }))
      const inRun = (o: Outcome): boolean => !warm.has(o.id)
      const window = (from: number, to: number) => {
        const lat = [...load.outcomes.values()].filter((x) => inRun(x) && x.sentAt >= from && x.sentAt < to && x.replies[0] !== undefined).map((x) => (x.replies[0]?.at ?? 0) - x.sentAt)
        return { p50Ms: round(quantile(lat, 0.5)), p99Ms: round(quantile(lat, 0.99)), n: lat.length }
      }
      const first = Math.min(...faults.map((f) => f.at))
      const calm = window(t0, first)
      const records: FaultRecord[] = faults.map((f) => {
        const ok = [...load.outcomes.values()].filter((x) => inRun(x) && x.sentAt >= f.at && x.replies[0]?.ok === true).map((x) => x.replies[0]?.at ?? Infinity)
        return { kind: f.kind, board: f.board, atS: round((f.at - t0) / 1000), during: window(f.at, f.at + 5000), after: window(f.at + 5000, f.at + 10_000), recoverMs: round(Math.min(...ok) - f.at) }
      })
      const lostAtS = [...load.outcomes.values()].filter((x) => inRun(x) && x.replies.length === 0).map((x) => round((x.sentAt - t0) / 1000))
      return { seed: o.seed, seconds: o.seconds, rate: o.rate, stats: load.stats(inRun), faults: records, baseline: { p50Ms: calm.p50Ms, p99Ms: calm.p99Ms }, lostAtS }
    } finally { await load.close() }
  } finally { await c.close() }
}

const round = (x: number): number => Math.round(x * 10) / 10
