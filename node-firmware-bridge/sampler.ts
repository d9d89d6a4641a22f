import type { Clock, TimerHandle } from '../runtime/shared/clock.js'
import type { Logger } from '../runtime/shared/log.js'
import type { PowerMeter } from './meter.js'

/** Failed reads in a row after which the power is unknown (one late conversion now and then is normal). */
export const SENSOR_FAILING_AFTER = 3

export interface SamplerOptions {
  readonly meter: PowerMeter
  readonly clock: Clock
  readonly hz: number
  readonly log: Logger
  /** How much history recent() keeps, ms. */
  readonly retainMs?: number
  /** Called after each sample with the energy of the interval since the previous one and the reading's window, ms. */
  readonly onSample?: (tMs: number, watts: number, intervalJ: number, windowMs: number | undefined) => void
}

/**
 * Reads the meter at a fixed rate and integrates energy by the trapezoid rule between the
 * readings' own times. A failed read is logged and skipped; the next good sample spans the gap.
 */
export class PowerSampler {
  private timer: TimerHandle | undefined
  private busy = false
  private last: readonly [number, number] | undefined
  private total = 0
  private failures = 0
  private readonly samples: Array<readonly [number, number]> = []

  constructor (private readonly o: SamplerOptions) {}

  start (): void {
    if (this.timer !== undefined) return
    const period = 1000 / this.o.hz
    let next = this.o.clock.now() + period
    const tick = (): void => {
      next += period
      // Fixed rate; after a stall, skip missed ticks rather than firing a burst.
      const now = this.o.clock.now()
      if (next <= now) next = now + period
      this.timer = this.o.clock.setTimeout(tick, next - now)
      void this.sample()
    }
    this.timer = this.o.clock.setTimeout(tick, period)
  }

  stop (): void {
    if (this.timer !== undefined) this.o.clock.clearTimeout(this.timer)
    this.timer = undefined
  }

  /** One reading, stamped at the middle of the window it measured (which may lie before now). */
  async sample (): Promise<void> {
    if (this.busy) return
    this.busy = true
    try {
      const r = await this.o.meter.read()
      this.record(r.atMs, r.watts, r.windowMs)
      if (this.failures >= SENSOR_FAILING_AFTER) this.o.log.info('power sensor readable again', { after_failures: this.failures })
      this.failures = 0
    } catch (err) {
      // One late conversion (timer jitter against the 68 ms averaging window) is normal; a run is not.
      this.failures++
      if (this.failures === SENSOR_FAILING_AFTER || this.failures % 100 === 0) this.o.log.warn('power sample failed', { code: 'WISP_SENSOR', error: (err as Error)?.message ?? String(err), failures: this.failures })
    } finally {
      this.busy = false
    }
  }

  private record (t: number, watts: number, windowMs?: number): void {
    let intervalJ = 0
    if (this.last !== undefined) {
      const [t0, w0] = this.last
      if (t <= t0) return
      intervalJ = (w0 + watts) / 2 * (t - t0) / 1000
      this.total += intervalJ
    }
    this.last = [t, watts]
    this.samples.push(this.last)
    const horizon = t - (this.o.retainMs ?? 5 * 60_000)
    let drop = 0
    while (drop < this.samples.length && (this.samples[drop]?.[0] ?? t) < horizon) drop++
    if (drop > 0) this.samples.splice(0, drop)
    this.o.onSample?.(t, watts, intervalJ, windowMs)
  }

  powerW (): number { return this.last?.[1] ?? 0 }
  /** False while the meter has failed SENSOR_FAILING_AFTER reads in a row: powerW() is then the last good reading, not the power now. */
  powerKnown (): boolean { return this.failures < SENSOR_FAILING_AFTER }
  energyJ (): number { return this.total }
  recent (): ReadonlyArray<readonly [number, number]> { return this.samples.slice() }
}
