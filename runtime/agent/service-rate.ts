/**
 * The shortest time constant of the service rate (ms). A rate taken over completions in each
 * gossip interval (an EWMA of completions per interval) fell to 0.00/s under load whenever a run
 * outlasted a few intervals: most intervals saw no completion and the average decayed to zero
 * between them. The rate here decays over at least this long, and over RUNS_PER_TAU run times when
 * runs are longer.
 */
export const RATE_TAU_MS = 10_000
export const RUNS_PER_TAU = 4

/**
 * Completions per second of one function, an exponentially decaying count read at any time: each
 * completion adds 1 to a sum that decays with time constant tau; the rate is the sum over the
 * time the sum has been collecting, tau × (1 − e^(−T/tau)) (T since the first run started), so it
 * reads a true figure from the first completion on (k runs of L ms that ended together: about k / L) and
 * settles on completions/s over the last ~tau. 0 until a run has completed.
 */
export class ServiceRate {
  private sum = 0
  private at = 0
  private since: number | undefined
  private meanRunMs = 0

  /** A run started at `now` (the measurement starts with the first one). */
  started (now: number): void {
    if (this.since === undefined) { this.since = now; this.at = now }
  }

  /** A run that took runMs completed at `now`. */
  completed (now: number, runMs: number): void {
    this.since ??= now - Math.max(0, runMs)
    this.decay(now)
    this.sum += 1
    this.meanRunMs = this.meanRunMs === 0 ? runMs : 0.3 * runMs + 0.7 * this.meanRunMs
  }

  /** Completions per second as of `now`. */
  rate (now: number): number {
    if (this.since === undefined || this.sum === 0) return 0
    this.decay(now)
    const tau = this.tau()
    const window = tau * (1 - Math.exp(-Math.max(0, now - this.since) / tau))
    return window <= 0 ? 0 : 1000 * this.sum / window
  }

  private tau (): number { return Math.max(RATE_TAU_MS, RUNS_PER_TAU * this.meanRunMs) }

  private decay (now: number): void {
    if (now > this.at) this.sum *= Math.exp(-(now - this.at) / this.tau())
    this.at = Math.max(this.at, now)
  }
}
