import { Registry } from 'prom-client'
import type { Logger } from '../shared/log.js'
import { createClusterMetrics, recordGreen, recordInvocation } from './metrics.js'
import { Recent, SnapshotFeed } from './feed.js'
import { startStatusServer, type StatusServer } from './server.js'
import type { ClusterPowerPoint, ClusterSnapshot, InvocationRecord } from './types.js'
import type { Completion, Leader } from '../leader/leader.js'
import type { Decision } from '../leader/policies/types.js'
import type { FunctionRow } from '../protocol/admin.js'

/** Where the cluster page's functions table comes from (runtime/leader/admin.ts implements it). */
export interface FunctionSource {
  readonly functions: () => readonly FunctionRow[]
  /** `text` with `fn`'s secret values redacted. */
  readonly redact: (fn: string, text: string) => string
}
const NO_FUNCTIONS: FunctionSource = { functions: () => [], redact: (_fn, text) => text }

/** The `function` label of invocations of a name that is not deployed (one series for all of them). */
export const UNDEPLOYED = '(not deployed)'

/** Jain's fairness index (Σx)² / (n·Σx²): 1 when all equal, 1/n when one takes all. */
export const jain = (xs: readonly number[]): number | null => {
  if (xs.length === 0) return null
  let s = 0
  let s2 = 0
  for (const x of xs) { s += x; s2 += x * x }
  return s2 === 0 ? 1 : (s * s) / (xs.length * s2)
}

export const percentile = (sorted: readonly number[], p: number): number | null =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? null

/**
 * Newest-first decisions with each run of identical ones (kind, policy, function, choice,
 * reason) collapsed into its newest row and a `repeats` count: the proactive scaler's "within
 * capacity" every tick is one row, not a flood.
 */
export const collapseDecisions = (newestFirst: readonly Decision[]): Array<Decision & { repeats?: number }> => {
  const out: Array<Decision & { repeats?: number }> = []
  const same = (a: Decision, b: Decision): boolean =>
    a.kind === b.kind && a.policy === b.policy && a.fn === b.fn && a.choice === b.choice && a.reason === b.reason
  for (const d of newestFirst) {
    const last = out[out.length - 1]
    if (last !== undefined && same(last, d)) out[out.length - 1] = { ...last, repeats: (last.repeats ?? 1) + 1 }
    else out.push(d)
  }
  return out
}

/**
 * The gateway's cluster page and /metrics: boards and their power states from the leader's
 * view, its recent decisions, latency percentiles and Jain's index of per-function slowdown
 * over recent completions, and a power history sampled once a second.
 */
export class ClusterStatus {
  readonly registry = new Registry()
  private readonly metrics = createClusterMetrics(this.registry)
  private readonly completions = new Recent<Completion>(2000)
  private readonly invocations = new Recent<InvocationRecord>(50)
  private readonly history = new Recent<ClusterPowerPoint>(600)
  private readonly feed: SnapshotFeed<ClusterSnapshot>
  private energyJ = 0
  /** Per kind and policy, the leader's decision total already added to /metrics. */
  private readonly decisionsCounted = new Map<string, number>()
  private lastSample = 0
  private timer: ReturnType<typeof setInterval> | null = null
  private server: StatusServer | null = null

  /**
   * `isDeployed` keeps /metrics to one series per deployed function: a name a client made up gets
   * none of its own. `fns` gives the functions table (the gateway's admin service: the same
   * figures as `wisp ls`) and redacts a function's secret values from the failures the page shows.
   */
  constructor (private readonly leader: Leader, private readonly log: Logger, private readonly isDeployed: (fn: string) => boolean = () => true, private readonly fns: FunctionSource = NO_FUNCTIONS) {
    this.feed = new SnapshotFeed(() => this.snapshot())
    leader.onCompletion((c) => this.onCompletion(c))
  }

  async start (host: string, port: number, allowedHosts: readonly string[] = []): Promise<StatusServer> {
    this.timer = setInterval(() => {
      try { this.sample() } catch (err) { this.log.warn('cluster sample failed', { err: (err as Error).message }) }
    }, 1000)
    this.timer.unref()
    this.server = await startStatusServer({ kind: 'cluster', host, port, source: this.feed, registry: this.registry, log: this.log, allowedHosts })
    return this.server
  }

  async close (): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer)
    await this.server?.close()
  }

  private onCompletion (c: Completion): void {
    this.completions.push(c)
    const r = c.reply
    this.invocations.push(r.ok
      ? { request_id: c.requestId, fn: c.fn, at_ms: Date.now(), ok: true, receipt: r.receipt, logs: [] }
      : { request_id: c.requestId, fn: c.fn, at_ms: Date.now(), ok: false, error: { ...r.error, message: this.fns.redact(c.fn, r.error.message) }, receipt: r.receipt, logs: [] })
    recordInvocation(this.metrics, this.isDeployed(c.fn) ? c.fn : UNDEPLOYED, r.ok ? 'ok' : r.error.code, r.receipt)
    recordGreen(this.metrics, this.isDeployed(c.fn) ? c.fn : UNDEPLOYED, r.receipt)
    this.feed.changed()
  }

  private sample (): void {
    const view = this.leader.cluster.view()
    const now = Date.now()
    const boards: Record<string, number> = {}
    let total = 0
    for (const b of view.boards) {
      if (b.power === 'gated' || b.power === 'offline') continue
      // A board whose sensor keeps failing counts in the total (and the energy) at its modelled
      // power, but shows no figure of its own: its gossiped one is a stale reading.
      total += b.powerW
      const source = this.leader.cluster.get(b.id)?.state?.power_source ?? 'surrogate'
      if (b.powerUnknown === true) {
        this.metrics.power.remove({ board: b.id, source })
      } else {
        boards[b.id] = b.powerW
        this.metrics.power.set({ board: b.id, source }, b.powerW)
      }
      this.metrics.queueLength.set({ board: b.id, function: '*' }, b.queueLen)
    }
    for (const b of view.boards) {
      const e = this.leader.cluster.get(b.id)?.state?.energy_j
      if (e !== undefined) this.metrics.energy.set({ board: b.id }, e)
    }
    for (const [key, n] of this.leader.decisionTotals()) {
      const [kind = '', policy = ''] = key.split('\u0000')
      const seen = this.decisionsCounted.get(key) ?? 0
      if (n > seen) this.metrics.decisions.inc({ kind, policy }, n - seen)
      this.decisionsCounted.set(key, n)
    }
    if (this.lastSample > 0) this.energyJ += total * (now - this.lastSample) / 1000
    this.lastSample = now
    this.history.push({ t_ms: now, total_w: total, boards })
    this.metrics.clusterPower.set(total)
    const states = new Map<string, number>()
    for (const b of view.boards) states.set(b.power, (states.get(b.power) ?? 0) + 1)
    this.metrics.boards.reset()
    for (const [state, n] of states) this.metrics.boards.set({ state }, n)
    this.feed.changed()
  }

  snapshot (): ClusterSnapshot {
    const view = this.leader.cluster.view()
    const done = this.completions.oldestFirst().filter((c) => c.reply.ok && c.reply.receipt !== undefined)
    const totals = done.map((c) => c.totalMs).sort((a, b) => a - b)
    const slow = new Map<string, number[]>()
    for (const c of done) {
      const run = Math.max(1, c.reply.receipt?.run_ms ?? 1)
      const list = slow.get(c.fn) ?? []
      list.push(c.totalMs / run)
      slow.set(c.fn, list)
    }
    const perFn = [...slow.values()].map((xs) => xs.reduce((a, b) => a + b, 0) / xs.length)
    let total = 0
    const boards = view.boards.map((b) => {
      const live = b.power !== 'gated' && b.power !== 'offline'
      if (live) total += b.powerW
      const st = this.leader.cluster.get(b.id)?.state
      return {
        id: b.id,
        profile: b.profile.name,
        power: b.power,
        power_w: !live ? 0 : b.powerUnknown === true ? null : b.powerW,
        ...(live && b.powerUnknown === true ? { power_unknown: true as const } : {}),
        energy_j: st?.energy_j,
        queue_len: b.queueLen,
        inflight: b.inflight,
        power_source: st?.power_source,
        status_url: st?.status_url,
        last_seen_ms: st?.ts
      }
    })
    return {
      kind: 'cluster',
      generated_ms: Date.now(),
      boards,
      total_power_w: total,
      energy_j: this.energyJ,
      decisions: collapseDecisions([...this.leader.recentDecisions()].reverse()).slice(0, 30),
      fairness: { jain: jain(perFn) },
      latency: { p50_ms: percentile(totals, 0.5), p99_ms: percentile(totals, 0.99), count: totals.length },
      power_history: this.history.oldestFirst(),
      invocations: this.invocations.newestFirst(),
      functions: this.fns.functions()
    }
  }
}
