import type { BoardView, ClusterView } from './policies/types.js'

/**
 * True when boards are live but every one already holds its `queue_limit` (or `limit`) invocations of `fn` (queued
 * or running, by the leader's exact count or the board's gossip, whichever is larger): a new
 * invocation would only wait for the boards' queues and then be refused, so it is refused
 * now (WISP_OVERLOADED) rather than seconds later. With no live board it is not overload: the
 * invocation waits for one to join or wake (WISP_NO_BOARD after waitMs).
 */
export const clusterFull = (view: ClusterView, fn: string, limit: number): boolean => {
  let routable = 0
  for (const b of view.boards) {
    if (!b.routable) continue
    routable++
    // The board's own bound when it reports one (the balancer skips a board at it), else the leader's.
    if ((b.functions[fn]?.queueLen ?? 0) < (b.queueLimit ?? limit)) return false
  }
  return routable > 0
}

/**
 * How long (ms) a new invocation of `fn` would wait before it starts: the invocations of `fn`
 * queued on the routable boards over the rate they serve it. Each board's rate is the larger of
 * the rate it gossips (completions of `fn` a second, which decays while the function is idle) and
 * its cores (or the runs of `fn` it has going, when more: co-executed runs that wait on I/O) over
 * the function's measured service time, so the estimate errs short. null when no
 * board has a rate for `fn` yet (nothing is refused on no evidence). Only boards warm for `fn`
 * count when the view carries the holders index.
 */
export const expectedWaitMs = (view: ClusterView, fn: string): number | null => {
  let queued = 0
  let perS = 0
  const add = (b: BoardView | undefined): void => {
    if (b === undefined || !b.routable) return
    const f = b.functions[fn]
    if (f === undefined) return
    queued += f.queueLen
    const serviceMs = f.serviceMs ?? 0
    perS += Math.max(f.serviceRate, serviceMs > 0 ? Math.max(b.profile.cores, f.running) * 1000 / serviceMs : 0)
  }
  // With the holders index (the live leader's and the simulator's views have it), only the boards
  // warm for fn: a scan of every board's functions for each invoke cost ~0.3 ms at 1,000 boards.
  // A board still starting its first runtime of fn is left out, so the estimate errs short there too.
  const holders = view.holders
  if (holders === undefined) for (const b of view.boards) add(b)
  else for (const i of holders[fn] ?? []) add(view.boards[i])
  return perS > 0 ? queued / perS * 1000 : null
}

/**
 * True when a new invocation expected to wait `waitMs` for a core (`expectedWaitMs`; null = no
 * estimate) has only `budgetMs` left before its deadline: accepted, it would only be answered
 * WISP_TIMEOUT at its deadline, after holding its place in the queues; refused at once
 * (WISP_OVERLOADED), the client hears it now and the backlog stays one that can finish in time.
 * The caller computes the wait once and names it in the refusal.
 */
export const missesDeadline = (waitMs: number | null, budgetMs: number): boolean => waitMs !== null && waitMs > budgetMs
