import type { BoardView, ClusterView, Decision, PowerAction, PowerPlan, PowerPolicy, ScaleResult } from './types.js'
import type { Rng } from '../../shared/rng.js'
import { DEFAULT_MEMORY_MB } from './place-common.js'

export interface IdleOffOptions {
  readonly intervalMs: number
  /** A board that ran nothing for this long is powered off (cluster-autoscaler's scale-down-unneeded-time: 10 min). */
  readonly idleMs: number
  /** No power-off within this time of a wake (cluster-autoscaler's scale-down-delay-after-add: 10 min). */
  readonly afterWakeMs: number
}

export const IDLE_OFF_DEFAULTS: IdleOffOptions = { intervalMs: 10_000, idleMs: 600_000, afterWakeMs: 600_000 }

/**
 * The energy baseline: what an operator gets from Knative plus a cluster-autoscaler-like rule,
 * no wisp. A board (node) idle for 10 minutes is powered off; a gated board is woken on demand,
 * one per tick, when pods are pending: some function has invocations waiting beyond its powered
 * runtimes' slots and fewer ready runtimes than the autoscaler asked for (cluster-autoscaler
 * adds a node for unschedulable pods; its default expander picks at random). The last board
 * able to hold the largest function stays on; if none is powered, one is woken.
 */
export const createIdleOff = (opts: Partial<IdleOffOptions> = {}): PowerPolicy => {
  const o = { ...IDLE_OFF_DEFAULTS, ...opts }
  const wokenAt = new Map<string, number>()
  return {
    name: 'idle-off',
    intervalMs: o.intervalMs,
    tick (view: ClusterView, scale: ScaleResult, rng: Rng): PowerPlan {
      const actions: PowerAction[] = []
      const decisions: Decision[] = []
      const record = (b: BoardView, op: 'gate' | 'wake', reason: string, inputs: Record<string, unknown> = {}): void => {
        actions.push({ board: b.id, op })
        if (op === 'wake') wokenAt.set(b.id, view.now)
        decisions.push({ kind: 'power', policy: 'idle-off', at: view.now, choice: b.id, scores: {}, inputs: { op, ...inputs }, reason })
      }
      const powered = (b: BoardView): boolean => b.power === 'on' || b.power === 'booting'
      const gated = view.boards.filter((b) => b.power === 'gated')
      const pick = (): BoardView | undefined => gated[Math.floor(rng() * gated.length)]
      if (!view.boards.some(powered)) {
        const b = pick()
        if (b !== undefined) record(b, 'wake', 'no board powered')
        return { actions, decisions }
      }
      const fns = view.fns ?? {}
      let pending: string | null = null
      for (const fn of Object.keys(fns).sort()) {
        const d = fns[fn]!
        let ready = 0
        for (const b of view.boards) if (b.routable) ready += b.functions[fn]?.runtimes ?? 0
        const slots = d.concurrency === 0 ? Infinity : ready * d.concurrency
        if (d.inflight > slots && (scale.targets[fn] ?? 0) > ready) { pending = fn; break }
      }
      const booting = view.boards.some((b) => b.power === 'booting')
      if (pending !== null && !booting) {
        const b = pick()
        if (b !== undefined) { record(b, 'wake', `pending runtimes of ${pending} do not fit the powered boards`, { fn: pending }); return { actions, decisions } }
      }
      const maxMem = Math.max(DEFAULT_MEMORY_MB, ...Object.values(fns).map((d) => d.memoryMb))
      const idle = view.boards.filter((b) => b.power === 'on' && b.profile.gateable && b.inflight === 0 &&
        b.idleSinceMs !== null && view.now - b.idleSinceMs >= o.idleMs && view.now - (wokenAt.get(b.id) ?? -Infinity) >= o.afterWakeMs)
      for (const b of idle) {
        const others = view.boards.filter((x) => x !== b && powered(x) && !actions.some((a) => a.board === x.id))
        if (!others.some((x) => x.profile.runtime_budget_mb >= maxMem)) continue
        record(b, 'gate', `idle ${Math.round((view.now - (b.idleSinceMs ?? view.now)) / 60_000)} min`)
      }
      return { actions, decisions }
    }
  }
}
