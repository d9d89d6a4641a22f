import type { BoardView, ClusterView } from './types.js'

/**
 * The boards an invocation of `fn` may go to, as Knative routes a revision's requests only to
 * its pods: the routable boards holding warm runtimes of `fn`, or every routable board when
 * none does (a cold start, as the activator does when scaling from zero).
 */
export const warmCandidates = (view: ClusterView, fn: string): BoardView[] => {
  const out: BoardView[] = []
  if (view.holders !== undefined) {
    for (const i of view.holders[fn] ?? []) {
      const b = view.boards[i]
      if (b !== undefined && b.routable) out.push(b)
    }
  } else {
    for (const b of view.boards) if (b.routable && (b.functions[fn]?.runtimes ?? 0) > 0) out.push(b)
  }
  if (out.length > 0) return out
  for (const b of view.boards) if (b.routable) out.push(b)
  return out
}

/** Outstanding invocations on a board: the leader's exact in-flight count or the gossiped queue, whichever is larger. */
export const outstanding = (b: BoardView): number => Math.max(b.inflight, b.queueLen)

/**
 * Mean expected size (ms at the board's speed) of one run queued or running on b: the reported
 * work ÷ the runs it covers (`workRuns`; else `runs`, the leader's count), else the board's mean
 * service time, else `fallbackMs`.
 */
export const workPerRun = (b: BoardView, runs: number, fallbackMs: number): number => {
  const covered = b.workRuns ?? runs
  return b.workMs !== undefined && b.workMs > 0 && covered > 0 ? b.workMs / covered
    : b.meanServiceMs !== undefined && b.meanServiceMs > 0 ? b.meanServiceMs : fallbackMs
}

/** Jain's fairness index of non-negative values: 1 = all equal, 1/n = one takes all. */
export const jainIndex = (xs: readonly number[]): number => {
  let s = 0
  let s2 = 0
  for (const x of xs) { s += x; s2 += x * x }
  return xs.length === 0 || s2 === 0 ? 1 : (s * s) / (xs.length * s2)
}
