import type { BoardProfile } from '../boards/schema.js'
import type { EnergyPort, EnergyShare } from './energy-port.js'
import type { Clock } from '../runtime/shared/clock.js'
import type { Logger } from '../runtime/shared/log.js'
import { Attribution, type Ledger } from './attribution.js'
import type { PowerMeter } from './meter.js'
import { PowerModel, type ModelSnapshot } from './power-model.js'
import { PowerSampler } from './sampler.js'

export interface MeteredEnergyPortOptions {
  readonly clock: Clock
  readonly profile: BoardProfile
  readonly log: Logger
  /** Opens the sensor; a rejection makes the port fall back. */
  readonly open: () => Promise<PowerMeter>
  /** The surrogate used when there is no sensor or it cannot be read. */
  readonly fallback: () => PowerMeter
  /** How the sensor is named in the fallback warning, e.g. "INA219 on I2C bus 1 address 0x40". */
  readonly sensor: string
  readonly retainMs?: number
  /** false keeps the profile's figures (every function alike): CPU-time-only attribution, a baseline. */
  readonly learn?: boolean
}

/** The agent's EnergyPort: a meter, a sampler at the profile's rate, and the attribution ledger. */
export class MeteredEnergyPort implements EnergyPort {
  private meter: PowerMeter | undefined
  private sampler: PowerSampler | undefined
  private readonly model: PowerModel
  private readonly attribution: Attribution
  private firstWaiters: Array<() => void> = []

  constructor (private readonly o: MeteredEnergyPortOptions) {
    const p = o.profile
    this.model = new PowerModel({ idleW: p.idle_w, perCoreW: (p.peak_w - p.idle_w) / p.cores, cores: p.cores }, o.learn === false ? 1e12 : undefined)
    this.attribution = new Attribution({ clock: o.clock, model: this.model })
  }

  get source (): 'ina219' | 'surrogate' { return this.meter?.source ?? 'surrogate' }

  async start (): Promise<void> {
    if (this.sampler !== undefined) return
    try {
      this.meter = await this.o.open()
    } catch (err) {
      this.o.log.warn(`power sensor unavailable, using the surrogate model of profile ${this.o.profile.name}: ${(err as Error).message}`, { sensor: this.o.sensor })
      this.meter = this.o.fallback()
    }
    this.sampler = new PowerSampler({
      meter: this.meter,
      clock: this.o.clock,
      hz: this.o.profile.sample_hz,
      log: this.o.log,
      retainMs: this.o.retainMs,
      onSample: (t, w, j, windowMs) => {
        this.attribution.onSample(t, j, windowMs === undefined ? undefined : { watts: w, windowMs })
        for (const f of this.firstWaiters) f()
        this.firstWaiters = []
      }
    })
    this.sampler.start()
  }

  async stop (): Promise<void> {
    this.sampler?.stop()
    await this.meter?.close()
  }

  powerW (): number { return this.sampler?.powerW() ?? 0 }
  hasReading (): boolean { return (this.sampler?.recent().length ?? 0) > 0 }
  powerKnown (): boolean { return this.sampler?.powerKnown() ?? true }

  /** Resolves true at the first sample (at once if there is one), false after timeoutMs without one. */
  async firstReading (timeoutMs: number): Promise<boolean> {
    if (this.hasReading()) return true
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(this.hasReading()), timeoutMs)
      timer.unref()
      this.firstWaiters.push(() => { clearTimeout(timer); resolve(true) })
    })
  }
  energyJ (): number { return this.sampler?.energyJ() ?? 0 }
  recent (): ReadonlyArray<readonly [number, number]> { return this.sampler?.recent() ?? [] }

  begin (invocation: string, fn: string): void { this.attribution.begin(invocation, fn) }

  end (invocation: string, cpuMs: number): EnergyShare {
    const { energyJ, wallMs } = this.attribution.end(invocation, cpuMs)
    return { energy_mj: energyJ * 1000, power_w: wallMs > 0 ? energyJ / (wallMs / 1000) : this.powerW() }
  }

  /** Where the measured energy went (attributed, idle with nothing running, residual, still pending). */
  ledger (): Ledger { return this.attribution.ledger() }

  /** What the meter has taught: idle power, non-linear excess and each function's intensity. */
  powerModel (): ModelSnapshot { return this.model.snapshot() }

  /** One sample now (tests and benchmarks drive the sampler by hand). */
  async sampleNow (): Promise<void> { await this.sampler?.sample() }
}
