import mqtt, { type MqttClient } from 'mqtt'
import { Topics } from '../protocol/topics.js'
import { buildManifest } from '../protocol/manifest.js'
import { publishDeployment } from '../transport/publish-deployment.js'
import { seededRng } from '../shared/rng.js'
import type { Transport } from '../transport/transport.js'
import { noDelay } from '../transport/mqtt-transport.js'
import { drawMinute, type Trace } from './trace.js'

/** One invocation of a trace slice: function index, arrival (ms from the slice start), duration at reference speed (ms). */
export interface TraceInvocation { readonly fn: number, readonly t: number, readonly durRef: number }

/**
 * The simulator's arrival expansion, draw for draw: one mulberry32 stream seeded with `seed`,
 * minute by minute through `drawMinute`, as `simulate` does. `simulate`
 * with the same trace, seed and scale sees exactly this list (it draws nothing else from
 * that stream). Sorted by arrival, ties in draw order.
 */
export const expandInvocations = (trace: Trace, seed: number, scale = 1): TraceInvocation[] => {
  const rng = seededRng(seed)
  const out: TraceInvocation[] = []
  for (let m = 0; m < trace.minutes; m++) drawMinute(trace, m, scale, rng, (fn, t, durRef) => { out.push({ fn, t, durRef }) })
  return out.map((inv, i) => ({ inv, i })).sort((a, b) => a.inv.t - b.inv.t || a.i - b.i).map((x) => x.inv)
}

/**
 * The replay handlers hold a runtime for `e.ms` (the invocation's reference-speed duration);
 * the board's speed emulation then stretches the run by 1/speed, so a run on a board of
 * speed s takes ms / s, as the simulator's service time does. `spin` burns a host core on
 * the wall clock (CPU-bound, as the simulator assumes); `sleep` awaits a timer, so that a
 * laptop with fewer cores than the emulated boards together is not itself the bottleneck.
 */
export const REPLAY_CODE = {
  spin: 'export async function handler (e) { const end = Date.now() + e.ms; let i = 0; while (Date.now() < end && i < 1e10) i++; return e.i }',
  sleep: 'export async function handler (e) { await new Promise((r) => setTimeout(r, e.ms)); return e.i }'
} as const
export type ReplayWork = keyof typeof REPLAY_CODE

export interface ReplayDeployOptions { readonly memoryMb: number, readonly concurrency: number, readonly timeoutMs: number, readonly work: ReplayWork }

/** Deploys one replay function per trace function, named as the trace names it. */
export const deployTrace = async (t: Transport, trace: Trace, o: ReplayDeployOptions, topics = new Topics()): Promise<void> => {
  const code = REPLAY_CODE[o.work]
  for (const f of trace.fns) {
    await publishDeployment(t, topics, buildManifest(f.name, code, { memory_mb: o.memoryMb, concurrency: o.concurrency, timeout_ms: o.timeoutMs }), code)
  }
}

/** What came back for one replayed invocation. */
export interface ReplayRecord {
  readonly fn: number
  readonly t: number
  readonly durRef: number
  /** Latency seen by the replaying client: publish to reply (ms). */
  clientMs: number
  ok: boolean
  error?: string
  board?: string
  cold?: boolean
  queueMs?: number
  runMs?: number
  /** The leader's figure: invoke received to reply sent (ms). */
  totalMs?: number
  energyMj?: number
}

/** A board's gossiped state at one instant (local receive time, ms). */
export interface EnergySample { readonly at: number, readonly incarnation: string, readonly energyJ: number, readonly powerW: number }

export interface ReplayOptions {
  /** Broker URL (mqtt://127.0.0.1:port). */
  readonly url: string
  readonly trace: Trace
  readonly invocations: readonly TraceInvocation[]
  /** After the last arrival, how long to wait for replies (ms). */
  readonly drainMs: number
  readonly client?: string
  readonly onProgress?: (sent: number, answered: number) => void
}

export interface ReplayResult {
  readonly records: readonly ReplayRecord[]
  /** Wall clock (ms since epoch) of trace time 0, and of the slice's end or the last reply if later. */
  readonly startedAt: number
  readonly endedAt: number
  readonly energy: ReadonlyMap<string, readonly EnergySample[]>
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))

/**
 * Publishes every invocation at its trace time over a real MQTT client, collects the replies
 * and the boards' gossiped energy counters. Bounded: it stops waiting `drainMs` after the last
 * arrival even if replies are missing (they stay `ok: false`, error "lost").
 */
export const replayLive = async (o: ReplayOptions): Promise<ReplayResult> => {
  const topics = new Topics()
  const client = o.client ?? 'replay'
  const energy = new Map<string, EnergySample[]>()
  const records: ReplayRecord[] = o.invocations.map((inv) => ({ fn: inv.fn, t: inv.t, durRef: inv.durRef, clientMs: NaN, ok: false, error: 'lost' }))
  const sentAt = new Float64Array(records.length)
  let answered = 0
  let lastReply = 0
  const c: MqttClient = await mqtt.connectAsync(o.url, { clientId: `wisp-replay-${process.pid}`, reconnectPeriod: 1000, connectTimeout: 5000 })
  noDelay(c)
  try {
    c.on('message', (topic, payload) => {
      const now = Date.now()
      let msg: Record<string, unknown>
      try { msg = JSON.parse(payload.toString()) as Record<string, unknown> } catch { return }
      const parts = topic.split('/')
      if (parts[1] === 'boards') {
        const id = parts[2] ?? ''
        if (typeof msg.energy_j !== 'number' || typeof msg.power_w !== 'number' || msg.status !== 'online') return
        const list = energy.get(id) ?? []
        energy.set(id, list)
        list.push({ at: now, incarnation: String(msg.incarnation), energyJ: msg.energy_j, powerW: msg.power_w })
        return
      }
      const i = Number((parts[4] ?? '').slice(1))
      const r = records[i]
      if (r === undefined || Number.isFinite(r.clientMs)) return
      answered++
      lastReply = now
      r.clientMs = now - (sentAt[i] ?? now)
      r.ok = msg.ok === true
      r.error = r.ok ? undefined : String((msg.error as { code?: string } | undefined)?.code ?? 'error')
      const rc = msg.receipt as Record<string, unknown> | undefined
      if (rc !== undefined) {
        r.board = String(rc.board)
        r.cold = rc.cold === true
        r.queueMs = Number(rc.queue_ms)
        r.runMs = Number(rc.run_ms)
        r.totalMs = Number(rc.total_ms)
        r.energyMj = Number(rc.energy_mj)
      }
    })
    await c.subscribeAsync([`${topics.prefix}/result/${client}/#`, topics.boardFilter('state')], { qos: 1 })
    const startedAt = Date.now()
    let next = 0
    for (let guard = 0; next < records.length && guard < 10_000_000; guard++) {
      const due = startedAt + (o.invocations[next]?.t ?? 0)
      const wait = due - Date.now()
      if (wait > 0) { await sleep(Math.min(wait, 1000)); continue }
      const inv = o.invocations[next] as TraceInvocation
      const fn = o.trace.fns[inv.fn]?.name ?? ''
      sentAt[next] = Date.now()
      c.publish(topics.invoke(fn, client, `r${next}`), JSON.stringify({ ms: inv.durRef, i: next }), { qos: 1 })
      next++
      if (next % 100 === 0) o.onProgress?.(next, answered)
    }
    const deadline = Date.now() + o.drainMs
    while (answered < records.length && Date.now() < deadline) { await sleep(200); o.onProgress?.(next, answered) }
    const endedAt = Math.max(lastReply, startedAt + o.trace.minutes * 60_000)
    // Past the slice's end and one more gossip round, so every board's counter is read after the window.
    await sleep(endedAt - Date.now() + 2500)
    return { records, startedAt, endedAt, energy }
  } finally {
    await c.endAsync()
  }
}

/**
 * Energy drawn in [from, to] (wall ms) by the boards, from their gossiped cumulative counters:
 * each pair of consecutive samples of one incarnation adds its delta, pro rata to its overlap
 * with the window (a restarted board starts a new counter, so its delta across the restart is skipped).
 */
export const energyInWindow = (energy: ReadonlyMap<string, readonly EnergySample[]>, from: number, to: number): Map<string, number> => {
  const out = new Map<string, number>()
  for (const [id, s] of energy) {
    let j = 0
    for (let k = 1; k < s.length; k++) {
      const a = s[k - 1] as EnergySample
      const b = s[k] as EnergySample
      if (a.incarnation !== b.incarnation || b.at <= a.at) continue
      const overlap = Math.min(b.at, to) - Math.max(a.at, from)
      if (overlap > 0) j += (b.energyJ - a.energyJ) * overlap / (b.at - a.at)
    }
    out.set(id, j)
  }
  return out
}

/**
 * How long each board's agent ran in [from, to] (wall ms), from its gossip: the spans between
 * consecutive samples of one incarnation (a gated or booting board sends none, so its energy
 * above is not metered either; this is the time that energy was metered over).
 */
export const upTimeInWindow = (energy: ReadonlyMap<string, readonly EnergySample[]>, from: number, to: number): Map<string, number> => {
  const out = new Map<string, number>()
  for (const [id, s] of energy) {
    let ms = 0
    for (let k = 1; k < s.length; k++) {
      const a = s[k - 1] as EnergySample
      const b = s[k] as EnergySample
      if (a.incarnation !== b.incarnation || b.at <= a.at) continue
      ms += Math.max(0, Math.min(b.at, to) - Math.max(a.at, from))
    }
    out.set(id, ms)
  }
  return out
}

/** Nearest-rank quantile of a sample (0 when empty). */
export const quantile = (xs: readonly number[], q: number): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (s.length === 0) return 0
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number
}
