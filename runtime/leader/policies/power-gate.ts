import type { BoardView, ClusterView, Decision, PowerAction, PowerPlan, PowerPolicy, ScaleResult } from './types.js'
import type { BoardProfile } from '../../../boards/schema.js'
import type { Rng } from '../../shared/rng.js'
import { DEFAULT_MEMORY_MB } from './place-common.js'
import { workPerRun } from './candidates.js'

export interface PowerGateOptions {
  readonly intervalMs: number
  /** A board must have run nothing for this long before it may be gated (the balancer does not need it). */
  readonly idleMs: number
  /**
   * Minimum off-time (no wake within this time of a gate, unless no board is powered), the time
   * between two gates of one board, and the floor of the minimum on-time after a wake.
   */
  readonly dwellMs: number
  /**
   * Minimum on-time after a wake: the board's boot break-even (boot energy ÷ idle power), at
   * least `dwellMs` and at most this.
   */
  readonly maxMinOnMs: number
  /**
   * Wake a gated board when the best expected completion time on the powered boards exceeds the
   * gated board's own service time by this much (the balancer would send work there) and the
   * queue outlasts the board's boot.
   */
  readonly waitTargetMs: number
  readonly defaultServiceMs: number
  /**
   * Light use: a board whose busy share (cores in use ÷ cores, sampled every tick, averaged over
   * `lightWindowMs`) stays under this is gated though it is never idle `idleMs` in a row, when the
   * other powered boards cover the forecast work with `lightHeadroom` to spare. 0 = off.
   */
  readonly lightShare: number
  readonly lightWindowMs: number
  readonly lightHeadroom: number
}

export const POWER_GATE_DEFAULTS: PowerGateOptions = { intervalMs: 5000, idleMs: 1000, dwellMs: 30_000, maxMinOnMs: 30_000, waitTargetMs: 2000, defaultServiceMs: 100, lightShare: 0.1, lightWindowMs: 120_000, lightHeadroom: 0.25 }

/**
 * What the live leader runs on real boards (gentle on SD cards and relays): gated after 60 s
 * idle, at least 2 minutes off, at most 5 minutes of minimum on-time. The evaluation's `wisp`
 * set runs these too, so its figures are the live system's.
 */
export const LIVE_POWER_DEFAULTS = Object.freeze({ idleMs: 60_000, dwellMs: 120_000, maxMinOnMs: 300_000 })

/** A profile's capacity: cores × speed (relative to a Raspberry Pi 4's core). */
const profileCapacity = (p: BoardProfile): number => p.speed * p.cores
const capacity = (b: BoardView): number => profileCapacity(b.profile)
const poweredOrComing = (b: BoardView): boolean => b.power === 'on' || b.power === 'booting'
/** Watts per reference core at full load: the order in which boards are worth keeping on. */
export const wattsPerCapacity = (p: BoardProfile): number => p.peak_w / profileCapacity(p)
/** Idle watts per unit of capacity: what a board costs of a power cap before it runs anything (power-cap.ts). */
export const idleWattsPerCapacity = (p: BoardProfile): number => p.idle_w / profileCapacity(p)
/** Time of idling that costs as much energy as one boot (booting draws (idle + peak) / 2 for boot_s). */
export const bootBreakEvenMs = (p: BoardProfile): number => 1000 * p.boot_s * (p.idle_w + p.peak_w) / 2 / Math.max(0.01, p.idle_w)
/**
 * Expected wait (ms) of a new invocation on the board: the work queued beyond its cores, shared by
 * its cores; each queued invocation weighs the board's reported work per invocation, else its mean
 * service time, else `refMs` (reference) ÷ its speed.
 */
const expectedWaitMs = (b: BoardView, refMs: number): number => {
  const queued = b.inflight - b.profile.cores
  if (queued <= 0) return 0
  return queued * workPerRun(b, b.inflight, refMs / b.profile.speed) / b.profile.cores
}
/** Most efficient first (watts per speed × cores), then the larger, then by id. */
const moreEfficient = (a: BoardView, b: BoardView): number =>
  wattsPerCapacity(a.profile) - wattsPerCapacity(b.profile) || capacity(b) - capacity(a) || (a.id < b.id ? -1 : 1)

/**
 * Power gating to the capacity the balancer actually uses. Mu's balancer packs work onto the
 * fast boards, so capacity powered "for the forecast" sits idle; instead:
 * - gate a board that has run nothing for `idleMs` (least efficient first), once it has been on
 *   for its minimum on-time after a wake (its boot break-even, within [dwellMs, maxMinOnMs]);
 * - wake the most efficient gated board (watts per speed × cores at full load), one per tick,
 *   when queueing on the powered boards passes the latency target for it — the best expected
 *   completion time there exceeds the gated board's own service time by `waitTargetMs`, so the
 *   balancer would use it — and is forecast to last beyond its boot: the backlog takes longer
 *   than the boot (or `dwellMs`, the planning horizon, when shorter) to clear at the forecast
 *   rate, or the forecast work exceeds the powered capacity (then as many as cover it);
 * - wake one when no board is powered; a gated board stays off for `dwellMs` otherwise;
 * - gate a board barely used (busy share under `lightShare` over `lightWindowMs`) that is never
 *   idle `idleMs` in a row because a run trickles in every few seconds, when the other powered
 *   boards cover the forecast work with `lightHeadroom` to spare (one per tick, least efficient first).
 * Never gates a board whose profile is not gateable (the gateway) nor the last powered board
 * able to hold the largest function.
 */
export const createPowerGate = (opts: Partial<PowerGateOptions> = {}): PowerPolicy & { readonly lastAction: Map<string, number> } => {
  const o = { ...POWER_GATE_DEFAULTS, ...opts }
  const lastAction = new Map<string, number>()
  const lastOp = new Map<string, 'gate' | 'wake'>()
  /** Per board: its busy share averaged over about `lightWindowMs` (updated every tick while it is on). */
  const busyShare = new Map<string, number>()
  return {
    name: 'gate',
    intervalMs: o.intervalMs,
    lastAction,
    tick (view: ClusterView, scale: ScaleResult, _rng: Rng): PowerPlan {
      const fns = view.fns ?? {}
      const a = Math.min(1, o.intervalMs / Math.max(1, o.lightWindowMs))
      for (const b of view.boards) {
        if (b.power !== 'on') { busyShare.delete(b.id); continue }
        const x = Math.min(b.inflight, b.profile.cores) / b.profile.cores
        const prev = busyShare.get(b.id)
        // A board just on starts busy, so it is judged on a whole window of its own.
        busyShare.set(b.id, prev === undefined ? 1 : (1 - a) * prev + a * x)
      }
      // Forecast work in reference cores, and the mean service time (reference ms) it is made of.
      let forecastWork = 0
      let rate = 0
      for (const fn of Object.keys(scale.forecast)) {
        const ms = fns[fn]?.serviceMs ?? 0
        const r = scale.forecast[fn] ?? 0
        rate += r
        forecastWork += r * (ms > 0 ? ms : o.defaultServiceMs) / 1000
      }
      const meanRefMs = rate > 0 ? 1000 * forecastWork / rate : o.defaultServiceMs
      let nowWork = 0
      let backlog = 0
      let bestEct = Infinity
      for (const b of view.boards) {
        if (b.power === 'on' || b.power === 'draining') nowWork += Math.min(b.inflight, b.profile.cores) * b.profile.speed
        if (b.power === 'on' && b.routable) {
          const wait = expectedWaitMs(b, meanRefMs)
          backlog += wait * b.profile.cores * b.profile.speed
          bestEct = Math.min(bestEct, wait + meanRefMs / b.profile.speed)
        }
      }
      let powered = view.boards.filter(poweredOrComing).reduce((s, b) => s + capacity(b), 0)
      // Time (ms) the powered boards need to clear their queues beyond their cores at the forecast rate.
      const clearMs = powered > forecastWork ? backlog / (powered - forecastWork) : Infinity
      const actions: PowerAction[] = []
      const decisions: Decision[] = []
      const since = (b: BoardView): number => view.now - (lastAction.get(b.id) ?? -Infinity)
      const minOnMs = (b: BoardView): number => Math.max(o.dwellMs, Math.min(bootBreakEvenMs(b.profile), o.maxMinOnMs))
      const scores: Record<string, number> = {}
      for (const b of view.boards) scores[b.id] = wattsPerCapacity(b.profile)
      const inputs = { forecast_work: forecastWork, now_work: nowWork, powered, backlog_ms: backlog, clear_ms: clearMs, best_ect_ms: bestEct, mean_ref_ms: meanRefMs }
      const record = (b: BoardView, op: 'gate' | 'wake', reason: string): void => {
        actions.push({ board: b.id, op })
        lastAction.set(b.id, view.now)
        lastOp.set(b.id, op)
        decisions.push({ kind: 'power', policy: 'gate', at: view.now, choice: b.id, scores, inputs: { ...inputs, op }, reason })
      }
      const noneOn = !view.boards.some(poweredOrComing)
      // The balancer would leave the powered boards for b: their best expected completion time
      // exceeds b's own service time by the latency target.
      const wanted = (b: BoardView): boolean => backlog > 0 && bestEct - meanRefMs / b.profile.speed > o.waitTargetMs
      const gated = view.boards.filter((b) => b.power === 'gated' && (noneOn || since(b) >= o.dwellMs)).sort(moreEfficient)
      if (noneOn) {
        const b = gated[0]
        if (b !== undefined) record(b, 'wake', 'no board powered')
        return { actions, decisions }
      }
      for (const b of gated) {
        if (!wanted(b)) continue
        // Short: the forecast work exceeds the powered capacity (the queue only grows), wake until
        // covered; else one board per tick while the queue takes longer than its boot to clear.
        const short = forecastWork > powered
        if (!short && (actions.length > 0 || clearMs <= Math.min(1000 * b.profile.boot_s, o.dwellMs))) continue
        powered += capacity(b)
        record(b, 'wake', short ? 'forecast work above powered capacity, queueing past the target' : `expected completion ${Math.round(bestEct)} ms: queueing outlasts a boot`)
      }
      if (actions.length > 0) return { actions, decisions }
      const maxMem = Math.max(DEFAULT_MEMORY_MB, ...Object.values(fns).map((d) => d.memoryMb))
      const idle = view.boards.filter((b) => b.power === 'on' && b.profile.gateable && b.inflight === 0 &&
        b.idleSinceMs !== null && view.now - b.idleSinceMs >= o.idleMs &&
        since(b) >= (lastOp.get(b.id) === 'wake' ? minOnMs(b) : o.dwellMs))
        .sort((a, b) => moreEfficient(b, a))
      for (const b of idle) {
        const others = view.boards.filter((x) => x !== b && poweredOrComing(x) && !actions.some((a) => a.board === x.id))
        // The last board able to hold the largest function stays on.
        if (!others.some((x) => x.profile.runtime_budget_mb >= maxMem)) continue
        powered -= capacity(b)
        record(b, 'gate', `idle ${Math.round((view.now - (b.idleSinceMs ?? view.now)) / 1000)} s: the balancer does not need it`)
      }
      if (actions.length > 0 || o.lightShare <= 0) return { actions, decisions }
      // Light use: the least efficient board barely used over the window, if the rest cover the forecast.
      const light = view.boards.filter((b) => b.power === 'on' && b.routable && b.profile.gateable &&
        (busyShare.get(b.id) ?? 1) < o.lightShare && !wanted(b) &&
        since(b) >= (lastOp.get(b.id) === 'wake' ? minOnMs(b) : o.dwellMs))
        .sort((a, b) => moreEfficient(b, a))
      for (const b of light) {
        if (powered - capacity(b) < forecastWork * (1 + o.lightHeadroom)) continue
        if (!view.boards.some((x) => x !== b && poweredOrComing(x) && x.profile.runtime_budget_mb >= maxMem)) continue
        powered -= capacity(b)
        record(b, 'gate', `busy ${Math.round(100 * (busyShare.get(b.id) ?? 0))} % of the last ${Math.round(o.lightWindowMs / 1000)} s: the others cover the forecast`)
        break
      }
      return { actions, decisions }
    }
  }
}

/** Baseline: boards stay powered (no gating), as Knative and Kubernetes leave nodes on. */
export const powerNone: PowerPolicy = {
  name: 'none',
  intervalMs: 60_000,
  tick: () => ({ actions: [], decisions: [] })
}
