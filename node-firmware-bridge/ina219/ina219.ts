import { swap16, type I2cBus } from '../i2c/i2c-bus.js'
import { sensorError } from '../errors.js'
import {
  BUS_CNVR, BUS_LSB_V, BUS_OVF, CONFIG_DEFAULT, CONFIG_RESET_BIT, REG, SHUNT_LSB_V,
  calibrationFor, decodeConfig, encodeConfig, gainFor, int16, isTriggered, shuntFullScaleV,
  type Calibration, type Ina219Config
} from './registers.js'

export interface Ina219Options {
  readonly bus: I2cBus
  /** 0x40..0x4F, set by the A0/A1 straps (SBOS448 §8.5.5.1 Table 1). */
  readonly address: number
  readonly shuntOhm: number
  readonly maxCurrentA: number
  /** A rounder current LSB than max/2^15, if wanted (SBOS448 §8.5.1). */
  readonly currentLsbA?: number
  readonly config?: Partial<Ina219Config>
}

export interface BusVoltage { readonly volts: number, readonly conversionReady: boolean, readonly overflow: boolean }

export interface Ina219Reading {
  readonly busV: number
  readonly shuntV: number
  readonly currentA: number
  readonly powerW: number
  /** CNVR was set: this is a conversion not read before (SBOS448 §8.6.3.2). */
  readonly fresh: boolean
}

/** Driver for the TI INA219 current/power monitor (SBOS448), over any I2cBus. */
export class Ina219 {
  readonly calibration: Calibration
  readonly config: Ina219Config
  private readonly bus: I2cBus
  private readonly address: number

  constructor (opts: Ina219Options) {
    this.bus = opts.bus
    this.address = opts.address
    try {
      this.calibration = calibrationFor(opts.shuntOhm, opts.maxCurrentA, opts.currentLsbA)
    } catch (err) {
      throw sensorError(opts.bus.busNumber, opts.address, 'cannot calibrate', err)
    }
    this.config = Object.freeze({
      busRange: 32,
      gain: gainFor(opts.shuntOhm, opts.maxCurrentA),
      busAdc: '12bit',
      // 128 averaged samples take 68.1 ms (SBOS448 §8.6.2.1 Table 5): one conversion per 10 Hz sample.
      shuntAdc: 'avg128',
      mode: 'shunt-bus-continuous',
      ...opts.config
    } satisfies Ina219Config)
  }

  private fail (what: string, cause?: unknown): Error { return sensorError(this.bus.busNumber, this.address, what, cause) }

  /** Registers are sent MSB first (SBOS448 §8.5.6, Figure 18) while SMBus words are LSB first: swap. */
  async readRegister (reg: number): Promise<number> {
    try {
      return swap16(await this.bus.readWord(this.address, reg))
    } catch (err) {
      throw this.fail(`read of register 0x0${reg} failed (no device at this address?)`, err)
    }
  }

  async writeRegister (reg: number, value: number): Promise<void> {
    try {
      await this.bus.writeWord(this.address, reg, swap16(value & 0xffff))
    } catch (err) {
      throw this.fail(`write of register 0x0${reg} failed (no device at this address?)`, err)
    }
  }

  /** RST bit 15 restores every register to its power-on value (SBOS448 §8.6.2.1). */
  async reset (): Promise<void> {
    await this.writeRegister(REG.config, CONFIG_RESET_BIT)
    const cfg = await this.readRegister(REG.config)
    if (cfg !== CONFIG_DEFAULT) throw this.fail(`after reset the configuration reads 0x${cfg.toString(16)}, not 0x399f: not an INA219`)
  }

  /** Resets, writes configuration and calibration, and reads both back. */
  async init (): Promise<void> {
    await this.reset()
    const cfg = encodeConfig(this.config)
    await this.writeRegister(REG.config, cfg)
    await this.writeRegister(REG.calibration, this.calibration.cal)
    const [c, k] = [await this.readRegister(REG.config), await this.readRegister(REG.calibration)]
    if (c !== cfg || k !== this.calibration.cal) throw this.fail(`read-back mismatch: config 0x${c.toString(16)} (wrote 0x${cfg.toString(16)}), calibration ${k} (wrote ${this.calibration.cal})`)
  }

  async readConfig (): Promise<Ina219Config> { return decodeConfig(await this.readRegister(REG.config)) }

  /** Starts one conversion in a triggered mode: writing the mode triggers it (SBOS448 §8.4). */
  async trigger (): Promise<void> {
    if (!isTriggered(this.config.mode)) return
    await this.writeRegister(REG.config, encodeConfig(this.config))
  }

  /** Shunt voltage, 10 µV LSB, two's complement (SBOS448 §8.6.3.1); a full-scale reading is a saturated PGA. */
  async readShuntVoltage (): Promise<number> {
    const counts = int16(await this.readRegister(REG.shunt))
    const fs = Math.round(shuntFullScaleV(this.config.gain) / SHUNT_LSB_V)
    if (Math.abs(counts) >= fs) throw this.fail(`shunt voltage at the ±${shuntFullScaleV(this.config.gain) * 1000} mV full scale: current above max_current_a or a wrong shunt_ohm`)
    return counts * SHUNT_LSB_V
  }

  /** Bus voltage: bits 15..3, 4 mV LSB; bit 1 CNVR, bit 0 OVF (SBOS448 §8.6.3.2). */
  async readBusVoltage (): Promise<BusVoltage> {
    const w = await this.readRegister(REG.bus)
    return { volts: (w >> 3) * BUS_LSB_V, conversionReady: (w & BUS_CNVR) !== 0, overflow: (w & BUS_OVF) !== 0 }
  }

  /** Current = register · Current_LSB, signed (SBOS448 §8.6.3.4). */
  async readCurrent (): Promise<number> {
    return int16(await this.readRegister(REG.current)) * this.calibration.currentLsbA
  }

  /** Power = register · Power_LSB; reading it clears CNVR (SBOS448 §8.6.3.2, §8.6.3.3). */
  async readPower (): Promise<number> {
    return (await this.readRegister(REG.power)) * this.calibration.powerLsbW
  }

  /** One full reading; OVF makes it an error since current and power "may be meaningless" (SBOS448 §8.6.3.2). */
  async read (): Promise<Ina219Reading> {
    const bus = await this.readBusVoltage()
    if (bus.overflow) throw this.fail('math overflow (OVF): current or power out of range; check max_current_a and shunt_ohm')
    const shuntV = await this.readShuntVoltage()
    const currentA = await this.readCurrent()
    const powerW = await this.readPower()
    return { busV: bus.volts, shuntV, currentA, powerW, fresh: bus.conversionReady }
  }
}
