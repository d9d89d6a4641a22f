import type { BoardView, ClusterView, Decision, PowerAction, PowerPlan, PowerPolicy, ScaleResult } from './types.js'
import type { Rng } from '../../shared/rng.js'
import { DEFAULT_MEMORY_MB } from './place-common.js'

export interface IdleOffOptions {
  readonly intervalMs: number
  /** A board unneeded for this long is powered off (cluster-autoscaler's scale-down-unneeded-time: 10 min). */
  readonly idleMs: number
  /**
   * A board is unneeded when its runtimes request less than this share of its runtime memory and
   * would fit on the other powered boards (cluster-autoscaler's scale-down-utilization-threshold: 0.5).
   */
  readonly utilisationThreshold: number
  /** No power-off within this time of a wake (cluster-autoscaler's scale-down-delay-after-add: 10 min). */
  readonly afterWakeMs: number
}

export const IDLE_OFF_DEFAULTS: IdleOffOptions = { intervalMs: 10_000, idleMs: 600_000, afterWakeMs: 600_000, utilisationThreshold: 0.5 }

/**
 * The energy baseline: what an operator gets from Knative plus a cluster-autoscaler-like rule,
 * no wisp. As cluster-autoscaler's scale-down (its FAQ "How does scale-down work?"), a board
 * (node) is unneeded when its runtimes (pods) request under 50 % of its runtime memory and would
 * fit on the other powered boards; one unneeded for 10 minutes is drained and powered off (empty
 * ones together, others one per tick), and its runtimes start again where the scheduler puts
 * them. Requests, not use, decide: a busy board holding few runtimes is unneeded. A gated board is woken on demand,
 * one per tick, when pods are pending: some function has invocations waiting beyond its powered
 * runtimes' slots and fewer ready runtimes than the autoscaler asked for (cluster-autoscaler
 * adds a node for unschedulable pods; its default expander picks at random). The last board
 * able to hold the largest function stays on; if none is powered, one is woken.
 */
export const createIdleOff = (opts: Partial<IdleOffOptions> = {}): PowerPolicy => {
  const o = { ...IDLE_OFF_DEFAULTS, ...opts }
  const wokenAt = new Map<string, number>()
  const unneededSince = new Map<string, number>()
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
      const requested = (b: BoardView): number => {
        let mb = 0
        for (const fn in b.functions) mb += (b.functions[fn]?.runtimes ?? 0) * (fns[fn]?.memoryMb ?? DEFAULT_MEMORY_MB)
        return mb
      }
      const leaving = new Set<string>()
      const free = new Map(view.boards.filter(powered).map((b) => [b.id, b.profile.runtime_budget_mb - requested(b)]))
      /** Whether b's runtimes fit, runtime by runtime, in the free memory of the other powered boards that stay. */
      const fitsElsewhere = (b: BoardView): boolean => {
        let need = 0
        for (const fn in b.functions) need += b.functions[fn]?.runtimes ?? 0
        let room = 0
        for (const x of view.boards) if (x !== b && powered(x) && !leaving.has(x.id)) room += Math.floor(Math.max(0, free.get(x.id) ?? 0) / maxMem)
        return room >= need
      }
      let drained = false
      for (const b of view.boards) {
        const mb = requested(b)
        const unneeded = b.power === 'on' && b.profile.gateable && mb / b.profile.runtime_budget_mb < o.utilisationThreshold && fitsElsewhere(b)
        if (!unneeded) { unneededSince.delete(b.id); continue }
        // An empty board has been unneeded since it last ran something.
        if (!unneededSince.has(b.id)) unneededSince.set(b.id, mb === 0 && b.inflight === 0 && b.idleSinceMs !== null ? b.idleSinceMs : view.now)
        const since = unneededSince.get(b.id)!
        const empty = mb === 0 && b.inflight === 0
        if (view.now - since < o.idleMs || view.now - (wokenAt.get(b.id) ?? -Infinity) < o.afterWakeMs || (!empty && drained)) continue
        const others = view.boards.filter((x) => x !== b && powered(x) && !leaving.has(x.id))
        if (!others.some((x) => x.profile.runtime_budget_mb >= maxMem)) continue
        leaving.add(b.id)
        // Its runtimes take room on the others (first fit), as the scheduler would place them.
        let left = mb
        for (const x of others) { const f = free.get(x.id) ?? 0; const take = Math.min(left, Math.max(0, f)); free.set(x.id, f - take); left -= take }
        if (!empty) drained = true
        unneededSince.delete(b.id)
        record(b, 'gate', `unneeded ${Math.round((view.now - since) / 60_000)} min (runtimes request ${Math.round(100 * mb / b.profile.runtime_budget_mb)} % of its memory)`)
      }
      return { actions, decisions }
    }
  }
}
