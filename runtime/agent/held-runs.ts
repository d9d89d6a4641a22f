import type { Reply } from '../protocol/messages.js'

export interface HeldAnswer { readonly reply: Reply, readonly logs: readonly string[] }

/** Answers kept for retries: the newest this many, within this many bytes of done messages. */
const ANSWERS_KEPT = 512
const ANSWER_BYTES_KEPT = 2 * 1024 * 1024

/**
 * The invocations this board holds (admitted, not yet answered), each with the highest attempt it
 * was sent, and the answers it gave last. A leader that lost sight of the board (a partition, a
 * move to another gateway) or a new leader after a failover sends a new attempt of an invocation
 * the board may still hold or has just answered: the board comes back with the same incarnation
 * and gets both the first attempt (its broker session kept it) and the retry. The retry does not
 * run the function again: a held run answers for it under the highest attempt (the one the leader
 * now waits for), and a kept answer is sent again under the retry's attempt.
 */
export class HeldRuns {
  private readonly held = new Map<string, number>()
  private readonly answers = new Map<string, HeldAnswer & { bytes: number }>()
  private answerBytes = 0

  /** An attempt of `invocation` was admitted to the queue. */
  admit (invocation: string, attempt: number): void { this.held.set(invocation, Math.max(attempt, this.held.get(invocation) ?? attempt)) }

  /**
   * A new attempt of `invocation` arrived: 'held' when a run here will answer for it (the attempt is
   * remembered), the answer to send again when one is kept, else null (run it).
   */
  absorb (invocation: string, attempt: number): 'held' | HeldAnswer | null {
    const cur = this.held.get(invocation)
    if (cur !== undefined) {
      if (attempt > cur) this.held.set(invocation, attempt)
      return 'held'
    }
    return this.answers.get(invocation) ?? null
  }

  /** The run ends: the attempt its done must carry. */
  release (invocation: string, attempt: number): number {
    const cur = this.held.get(invocation)
    this.held.delete(invocation)
    return Math.max(attempt, cur ?? attempt)
  }

  /** Keeps the answer given (its done is `bytes` long) for a retry; the oldest go first. */
  keep (invocation: string, answer: HeldAnswer, bytes: number): void {
    if (bytes > ANSWER_BYTES_KEPT) return
    const old = this.answers.get(invocation)
    if (old !== undefined) { this.answers.delete(invocation); this.answerBytes -= old.bytes }
    this.answers.set(invocation, { ...answer, bytes })
    this.answerBytes += bytes
    for (const [k, a] of this.answers) {
      if (this.answers.size <= ANSWERS_KEPT && this.answerBytes <= ANSWER_BYTES_KEPT) break
      this.answers.delete(k)
      this.answerBytes -= a.bytes
    }
  }
}
