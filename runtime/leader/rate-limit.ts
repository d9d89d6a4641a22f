/**
 * One token bucket per client: `ratePerSec` tokens a second up to `burst`. The table holds
 * at most `maxClients` buckets; past that, buckets that have refilled (clients that went
 * quiet) are dropped first, then the oldest, so a flood of client names cannot grow memory.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number, at: number }>()

  constructor (
    readonly ratePerSec: number,
    readonly burst: number,
    private readonly maxClients = 10_000
  ) {}

  /** Takes one token for `key` at time `now` (ms); false when the bucket is empty. */
  take (key: string, now: number): boolean {
    let b = this.buckets.get(key)
    if (b === undefined) {
      if (this.buckets.size >= this.maxClients) this.evict(now)
      b = { tokens: this.burst, at: now }
      this.buckets.set(key, b)
    } else {
      b.tokens = Math.min(this.burst, b.tokens + (Math.max(0, now - b.at) * this.ratePerSec) / 1000)
      b.at = now
    }
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }

  get size (): number { return this.buckets.size }

  private evict (now: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((now - b.at) * this.ratePerSec) / 1000 >= this.burst) this.buckets.delete(k)
    }
    // Still full: forget the oldest (Map iterates in insertion order).
    for (const k of this.buckets.keys()) {
      if (this.buckets.size < this.maxClients) break
      this.buckets.delete(k)
    }
  }
}
