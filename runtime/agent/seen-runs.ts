/**
 * The last `limit` (invocation, attempt) pairs a board accepted. A QoS 1 `run` may arrive twice
 * (MQTT 3.1.1 §4.3.2: redelivery after a lost PUBACK or a reconnect); the second copy is dropped,
 * so a board never runs the same attempt twice. A new attempt of the same invocation runs.
 */
export class SeenRuns {
  private readonly seen = new Set<string>()

  constructor (private readonly limit = 10_000) {}

  /** True the first time a pair is offered, false for every repeat within the window. */
  first (invocation: string, attempt: number): boolean {
    const key = `${invocation}#${attempt}`
    if (this.seen.has(key)) return false
    this.seen.add(key)
    if (this.seen.size > this.limit) {
      const oldest = this.seen.values().next().value
      if (oldest !== undefined) this.seen.delete(oldest)
    }
    return true
  }
}
