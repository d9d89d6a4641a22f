import type { ClusterView } from './policies/types.js'

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
