/**
 * The invocations this board has admitted and not yet answered, each with the highest attempt it
 * was sent. A leader that lost sight of the board (a partition, a move to another gateway) or a new
 * leader after a failover sends a new attempt of an invocation the board may still hold: the board
 * comes back with the same incarnation and gets both the first attempt (its broker session kept it)
 * and the retry. The retry is not run a second time: the run already here answers for it, under the
 * highest attempt (the one the leader now waits for). A retry arriving after the answer runs again.
 */
export class HeldRuns {
  private readonly held = new Map<string, number>()

  /** An attempt of `invocation` was admitted to the queue. */
  admit (invocation: string, attempt: number): void { this.held.set(invocation, Math.max(attempt, this.held.get(invocation) ?? attempt)) }

  /** True (and the attempt is remembered) when an earlier attempt of `invocation` is held here and will answer for this one. */
  absorb (invocation: string, attempt: number): boolean {
    const cur = this.held.get(invocation)
    if (cur === undefined) return false
    if (attempt > cur) this.held.set(invocation, attempt)
    return true
  }

  /** The run ends: the attempt its done must carry. */
  release (invocation: string, attempt: number): number {
    const cur = this.held.get(invocation)
    this.held.delete(invocation)
    return Math.max(attempt, cur ?? attempt)
  }
}
