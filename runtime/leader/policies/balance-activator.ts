import type { BalancePolicy, BoardView, ClusterView, Decision } from './types.js'
import type { Rng } from '../../shared/rng.js'
import { DEFAULT_MEMORY_MB, memorySlots } from './place-common.js'

/**
 * Knative Serving's activator, as `pkg/activator/net/lb_policy.go` and knative.dev's "Load
 * balancing" page describe it: requests for a revision are buffered in one queue per revision
 * and each is sent to a pod (here: a warm runtime on a board) with a free slot of its container
 * concurrency:
 * - containerConcurrency 0 (unlimited): the better of two random choices (fewer in flight);
 * - containerConcurrency ≤ 3: the first pod with capacity (pods in a stable order);
 * - containerConcurrency > 3: round-robin over the pods with capacity.
 * When no pod has a free slot the request waits in the activator's queue (the caller keeps it:
 * `choice: null` with `inputs.buffer = true`); at `ACTIVATOR_QUEUE_CAP` queued the request is
 * rejected (the activator's breaker queue depth). When the revision has no pod at all (scaled to
 * zero) the activator wakes the autoscaler and the request goes to the first new pod: modelled
 * as a cold start on the board kube-scheduler's LeastAllocated rule would pick (most free
 * runtime memory).
 */
export const ACTIVATOR_QUEUE_CAP = 10_000

export interface ActivatorPolicy extends BalancePolicy {
  /** Round-robin position per function (containerConcurrency > 3). */
  readonly state: Map<string, number>
}

/** Free slots of fn's runtimes on b: runtimes × concurrency − running − queued (Infinity when the concurrency is unlimited; 0 when b holds none). */
export const freeSlots = (b: BoardView, fn: string, concurrency: number): number => {
  const f = b.functions[fn]
  if (f === undefined || f.runtimes === 0) return 0
  if (concurrency === 0) return Infinity
  return f.runtimes * concurrency - f.running - f.queueLen
}

const byId = (a: BoardView, b: BoardView): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

export const createActivator = (state: Map<string, number> = new Map()): ActivatorPolicy => ({
  name: 'activator',
  state,
  pick (view: ClusterView, fn: string, rng: Rng): Decision {
    const d = view.fns?.[fn]
    const cc = d?.concurrency ?? 0
    const decide = (choice: BoardView | null, scores: Record<string, number>, reason: string, buffer = false): Decision =>
      ({ kind: 'balance', policy: 'activator', at: view.now, fn, choice: choice?.id ?? null, scores, inputs: { container_concurrency: cc, buffer }, reason })
    const holders: BoardView[] = []
    const idx = view.holders?.[fn]
    if (idx !== undefined) { for (const i of idx) { const b = view.boards[i]; if (b !== undefined && b.routable) holders.push(b) } } else {
      for (const b of view.boards) if (b.routable && (b.functions[fn]?.runtimes ?? 0) > 0) holders.push(b)
    }
    if (holders.length === 0) {
      // Scaled to zero: the first pod is created where kube-scheduler's LeastAllocated puts it.
      const mem = d?.memoryMb ?? DEFAULT_MEMORY_MB
      let best: BoardView | null = null
      let bestFree = -Infinity
      const scores: Record<string, number> = {}
      for (const b of view.boards) {
        if (!b.routable) continue
        const slots = memorySlots(b, mem)
        const used = b.runtimeCount ?? Object.values(b.functions).reduce((s, f) => s + f.runtimes, 0)
        const free = (slots - used) / Math.max(1, slots)
        scores[b.id] = free
        // Ties (e.g. every board full) go to the board with fewer in flight, then by id.
        if (free > bestFree || (free === bestFree && best !== null && (b.inflight < best.inflight || (b.inflight === best.inflight && byId(b, best) < 0)))) { bestFree = free; best = b }
      }
      return best === null ? decide(null, scores, 'no routable board') : decide(best, scores, 'scaled to zero: cold start where most runtime memory is free')
    }
    const open = holders.filter((b) => freeSlots(b, fn, cc) > 0)
    const scores: Record<string, number> = {}
    for (const b of holders) scores[b.id] = freeSlots(b, fn, cc)
    if (open.length === 0) return decide(null, scores, 'no runtime has a free slot: buffered in the activator', true)
    if (cc === 0) {
      const i = Math.floor(rng() * open.length)
      let j = Math.floor(rng() * (open.length - 1))
      if (j >= i) j++
      const a = open[i]!
      const b = open.length > 1 ? open[j]! : a
      const load = (x: BoardView): number => x.functions[fn]?.queueLen ?? 0
      return decide(load(b) < load(a) ? b : a, scores, 'unlimited concurrency: fewer in flight of two random runtimes')
    }
    open.sort(byId)
    if (cc <= 3) return decide(open[0]!, scores, 'first runtime with a free slot')
    const n = state.get(fn) ?? 0
    state.set(fn, (n + 1) % 1_000_000_007)
    return decide(open[n % open.length]!, scores, 'round-robin over runtimes with a free slot')
  }
})
