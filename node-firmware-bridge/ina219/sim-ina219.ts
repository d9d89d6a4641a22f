import type { Clock } from '../../runtime/shared/clock.js'
import type { SimI2cDevice } from '../i2c/sim-i2c-bus.js'
import {
  BUS_CNVR, BUS_LSB_V, BUS_OVF, CONFIG_DEFAULT, CONFIG_RESET_BIT, REG, SHUNT_LSB_V,
  adcBits, adcTimeUs, convertsBus, convertsShunt, decodeConfig, isContinuous, isTriggered, shuntFullScaleV
} from './registers.js'

/** What the chip's inputs see, averaged over a conversion window [fromMs, toMs]. */
export interface ElectricalSource {
  sample: (fromMs: number, toMs: number) => { readonly busV: number, readonly currentA: number }
}

/**
 * A register-level model of the INA219: the register file of SBOS448 §8.6, conversions
 * timed by the ADC settings, and the chip's own integer arithmetic for current and power.
 */
export class SimIna219 implements SimI2cDevice {
  private regs = new Uint16Array(6)
  private cycleStart = 0
  private convertedUpTo = 0
  private pendingAt: number | undefined

  constructor (
    private readonly clock: Clock,
    private readonly source: ElectricalSource,
    /** The physical shunt on the simulated board. */
    private readonly shuntOhm = 0.1
  ) { this.powerOn() }

  /** Power-on reset values, SBOS448 §8.6.1 Table 2. */
  private powerOn (): void {
    this.regs = new Uint16Array(6)
    this.regs[REG.config] = CONFIG_DEFAULT
    this.restartConversions()
  }

  private get cfg () { return decodeConfig(this.regs[REG.config] ?? CONFIG_DEFAULT) }

  /** One conversion cycle: shunt then bus, each by its ADC setting (SBOS448 §8.4). */
  private conversionMs (): number {
    const c = this.cfg
    return ((convertsShunt(c.mode) ? adcTimeUs(c.shuntAdc) : 0) + (convertsBus(c.mode) ? adcTimeUs(c.busAdc) : 0)) / 1000
  }

  private restartConversions (): void {
    const now = this.clock.now()
    this.cycleStart = now
    this.convertedUpTo = now
    this.pendingAt = isTriggered(this.cfg.mode) ? now + this.conversionMs() : undefined
  }

  write (register: number, bytes: readonly number[]): void {
    this.update()
    if (bytes.length < 2) return
    const value = ((bytes[0] ?? 0) << 8) | (bytes[1] ?? 0)
    if (register === REG.config) {
      if ((value & CONFIG_RESET_BIT) !== 0) { this.powerOn(); return }
      this.regs[REG.config] = value & 0x3fff
      // Writing a mode clears CNVR, except power-down and ADC-off (SBOS448 §8.6.3.2).
      const m = this.cfg.mode
      if (m !== 'power-down' && m !== 'adc-off') this.regs[REG.bus] = (this.regs[REG.bus] ?? 0) & ~BUS_CNVR
      this.restartConversions()
    } else if (register === REG.calibration) {
      // FS0 is void and always reads 0 (SBOS448 §8.6.4.1).
      this.regs[REG.calibration] = value & 0xfffe
    }
  }

  read (register: number, length: number): number[] {
    this.update()
    const w = this.regs[register] ?? 0
    // Reading the power register clears CNVR (SBOS448 §8.6.3.2).
    if (register === REG.power) this.regs[REG.bus] = (this.regs[REG.bus] ?? 0) & ~BUS_CNVR
    return [(w >> 8) & 0xff, w & 0xff].slice(0, length)
  }

  /** Runs the conversions due by now; only the last completed one is visible, as on the chip. */
  private update (): void {
    const now = this.clock.now()
    const m = this.cfg.mode
    const period = this.conversionMs()
    if (isContinuous(m) && period > 0) {
      const done = this.cycleStart + Math.floor((now - this.cycleStart) / period) * period
      if (done > this.convertedUpTo) { this.convert(done - period, done); this.convertedUpTo = done }
    } else if (this.pendingAt !== undefined && now >= this.pendingAt) {
      this.convert(this.pendingAt - period, this.pendingAt)
      this.pendingAt = undefined
    }
  }

  private convert (fromMs: number, toMs: number): void {
    const c = this.cfg
    const { busV, currentA } = this.source.sample(fromMs, toMs)
    let shunt = this.regs[REG.shunt] ?? 0
    let bus = (this.regs[REG.bus] ?? 0) >> 3
    if (convertsShunt(c.mode)) {
      const fs = Math.round(shuntFullScaleV(c.gain) / SHUNT_LSB_V)
      const step = 2 ** (12 - adcBits(c.shuntAdc))
      const counts = Math.round(currentA * this.shuntOhm / SHUNT_LSB_V / step) * step
      shunt = Math.max(-fs, Math.min(fs, counts)) & 0xffff
    }
    if (convertsBus(c.mode)) {
      const step = 2 ** (12 - adcBits(c.busAdc))
      const counts = Math.round(busV / BUS_LSB_V / step) * step
      bus = Math.max(0, Math.min(c.busRange === 32 ? 8000 : 4000, counts))
    }
    // Current = Shunt · Cal / 4096 and Power = Current · Bus / 5000, SBOS448 §8.5.1 equations 4 and 5.
    const signedShunt = (shunt & 0x8000) !== 0 ? shunt - 0x10000 : shunt
    const cal = this.regs[REG.calibration] ?? 0
    const current = Math.trunc(signedShunt * cal / 4096)
    const power = Math.trunc(Math.abs(current) * bus / 5000)
    const ovf = current > 32767 || current < -32768 || power > 0xffff
    this.regs[REG.shunt] = shunt
    this.regs[REG.current] = Math.max(-32768, Math.min(32767, current)) & 0xffff
    this.regs[REG.power] = Math.min(0xffff, power)
    this.regs[REG.bus] = (bus << 3) | BUS_CNVR | (ovf ? BUS_OVF : 0)
  }
}

/** A constant electrical input, for tests and the datasheet example. */
export const constantSource = (busV: number, currentA: number): ElectricalSource => ({ sample: () => ({ busV, currentA }) })

/**
 * A load of `powerW(from, to)` watts fed from a `supplyV` supply through the shunt: the chip
 * measures bus voltage at IN−, after the shunt drop, so I solves R·I² − V·I + P = 0.
 */
export const loadOnSupply = (powerW: (fromMs: number, toMs: number) => number, supplyV = 5.1, shuntOhm = 0.1): ElectricalSource => ({
  sample: (from, to) => {
    const p = Math.max(0, powerW(from, to))
    const disc = supplyV * supplyV - 4 * shuntOhm * p
    const currentA = shuntOhm > 0 && disc > 0 ? (supplyV - Math.sqrt(disc)) / (2 * shuntOhm) : p / supplyV
    return { busV: supplyV - currentA * shuntOhm, currentA }
  }
})
