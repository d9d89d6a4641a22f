import type { BoardView, ClusterView, Decision, PowerAction, PowerPlan, PowerPolicy, ScaleResult } from './types.js'
import type { Rng } from '../../shared/rng.js'
import { DEFAULT_MEMORY_MB } from './place-common.js'

export interface PowerGateOptions {
  readonly intervalMs: number
  /** A board must have run nothing for this long before it may be gated. */
  readonly idleMs: number
  /** Plan for this utilisation of the powered capacity (speed × cores). */
  readonly targetUtilisation: number
  /** Hysteresis: gate only while the rest covers demand × (1 + gateMargin); wake when below demand. */
  readonly gateMargin: number
  /** No second action on a board within this time. */
  readonly dwellMs: number
  readonly defaultServiceMs: number
}

export const POWER_GATE_DEFAULTS: PowerGateOptions = { intervalMs: 5000, idleMs: 30_000, targetUtilisation: 0.7, gateMargin: 0.15, dwellMs: 120_000, defaultServiceMs: 100 }

const capacity = (b: BoardView): number => b.profile.speed * b.profile.cores
const poweredOrComing = (b: BoardView): boolean => b.power === 'on' || b.power === 'booting'

/**
 * Power gating. Demand (reference cores) is the larger of the forecast — Σ forecast rate ×
 * service time, over the longest boot time ahead — and the work on the boards now. Powered
 * capacity is kept at demand / targetUtilisation: wake the fastest gated boards when below
 * (ahead of demand, since the forecast already looks a boot time ahead); gate idle boards,
 * slowest first, while the rest still cover it with a margin. Never gates a board whose profile
 * is not gateable (the gateway) nor the last powered board able to hold a function.
 */
export const createPowerGate = (opts: Partial<PowerGateOptions> = {}): PowerPolicy & { readonly lastAction: Map<string, number> } => {
  const o = { ...POWER_GATE_DEFAULTS, ...opts }
  const lastAction = new Map<string, number>()
  return {
    name: 'gate',
    intervalMs: o.intervalMs,
    lastAction,
    tick (view: ClusterView, scale: ScaleResult, _rng: Rng): PowerPlan {
      const fns = view.fns ?? {}
      let forecastWork = 0
      for (const fn of Object.keys(scale.forecast)) {
        const ms = fns[fn]?.serviceMs ?? 0
        forecastWork += (scale.forecast[fn] ?? 0) * (ms > 0 ? ms : o.defaultServiceMs) / 1000
      }
      let nowWork = 0
      for (const b of view.boards) if (b.power === 'on' || b.power === 'draining') nowWork += Math.min(b.inflight, b.profile.cores) * b.profile.speed
      const demand = Math.max(forecastWork, nowWork) / o.targetUtilisation
      const actions: PowerAction[] = []
      const decisions: Decision[] = []
      const calm = (b: BoardView): boolean => view.now - (lastAction.get(b.id) ?? -Infinity) >= o.dwellMs
      let powered = view.boards.filter(poweredOrComing).reduce((s, b) => s + capacity(b), 0)
      const scores: Record<string, number> = {}
      for (const b of view.boards) scores[b.id] = capacity(b)
      const inputs = { forecast_work: forecastWork, now_work: nowWork, demand, powered }
      const record = (b: BoardView, op: 'gate' | 'wake', reason: string): void => {
        actions.push({ board: b.id, op })
        lastAction.set(b.id, view.now)
        decisions.push({ kind: 'power', policy: 'gate', at: view.now, choice: b.id, scores, inputs: { ...inputs, op }, reason })
      }
      const noneOn = !view.boards.some(poweredOrComing)
      if (powered < demand || noneOn) {
        const gated = view.boards.filter((b) => b.power === 'gated' && (calm(b) || noneOn))
          .sort((a, b) => capacity(b) - capacity(a) || (a.id < b.id ? -1 : 1))
        for (const b of gated) {
          if (powered >= demand && !(noneOn && actions.length === 0)) break
          powered += capacity(b)
          record(b, 'wake', noneOn ? 'no board powered' : 'forecast demand above powered capacity')
        }
        return { actions, decisions }
      }
      const maxMem = Math.max(DEFAULT_MEMORY_MB, ...Object.values(fns).map((d) => d.memoryMb))
      const idle = view.boards.filter((b) => b.power === 'on' && b.profile.gateable && b.inflight === 0 &&
        b.idleSinceMs !== null && view.now - b.idleSinceMs >= o.idleMs && calm(b))
        .sort((a, b) => a.profile.speed - b.profile.speed || b.profile.idle_w / capacity(b) - a.profile.idle_w / capacity(a) || (a.id < b.id ? -1 : 1))
      for (const b of idle) {
        const rest = powered - capacity(b)
        if (rest < demand * (1 + o.gateMargin)) continue
        const others = view.boards.filter((x) => x !== b && poweredOrComing(x) && !actions.some((a) => a.board === x.id))
        // The last board able to hold the largest function stays on.
        if (!others.some((x) => x.profile.runtime_budget_mb >= maxMem)) continue
        powered = rest
        record(b, 'gate', `idle ${Math.round((view.now - (b.idleSinceMs ?? view.now)) / 1000)} s and the rest cover demand`)
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
