import type { BoardConfig, BoardProfile } from '../boards/schema.js'
import type { Clock } from '../runtime/shared/clock.js'
import type { Logger } from '../runtime/shared/log.js'
import { cpuUtilisation, type CpuUsage } from './cpu-utilisation.js'
import { where } from './errors.js'
import type { I2cBus } from './i2c/i2c-bus.js'
import { openLinuxI2cBus } from './i2c/linux-i2c-bus.js'
import { SimI2cBus } from './i2c/sim-i2c-bus.js'
import { openIna219Meter } from './ina219/ina219-meter.js'
import { SimIna219, loadOnSupply } from './ina219/sim-ina219.js'
import type { PowerMeter } from './meter.js'
import { MeteredEnergyPort } from './metered-energy-port.js'
import { profilePowerW, surrogateMeter } from './surrogate.js'

export { MeteredEnergyPort } from './metered-energy-port.js'
export type { Ledger } from './attribution.js'
export type { ModelSnapshot } from './power-model.js'
export type { PowerMeter } from './meter.js'
export type { I2cBus } from './i2c/i2c-bus.js'
export type { GpioPin } from './gpio/gpio-pin.js'
export { openLinuxGpioPin } from './gpio/linux-gpio-pin.js'
export { SimGpioPin } from './gpio/sim-gpio-pin.js'
export { PowerGate, type PowerGatePorts, type GateOutcome } from './gpio/power-gate.js'

export interface EnergyPortOptions {
  readonly config: BoardConfig
  readonly profile: BoardProfile
  readonly clock: Clock
  readonly log: Logger
  /** CPU time of this process (default process.cpuUsage): drives the surrogate and the simulated INA219. */
  readonly cpuUsage?: CpuUsage
  /** Opens /dev/i2c-N (default: the Linux adapter). */
  readonly openBus?: (busNumber: number) => Promise<I2cBus>
  /** Simulation: the board's power over a window, W, instead of the profile line driven by CPU use. */
  readonly simPowerW?: (fromMs: number, toMs: number) => number
  /** false: CPU-time-only attribution with the profile's figures (a baseline for benchmarks). */
  readonly learn?: boolean
}

const DEFAULT_ADDRESS = 0x40
const SUPPLY_V = 5.1

/**
 * The board's EnergyPort. Picks, in order: the simulated INA219 on a simulated bus when
 * `sim.ina219` is set; the real INA219 over /dev/i2c-N when `ina219` is configured; else the
 * profile's surrogate. A sensor that cannot be opened or read at start falls back to the
 * surrogate with a warning naming bus and address.
 */
export const createEnergyPort = (o: EnergyPortOptions): MeteredEnergyPort => {
  const { config, profile, clock } = o
  const ina = config.ina219
  const busNumber = ina?.bus ?? 1
  const address = ina?.address ?? DEFAULT_ADDRESS
  const shuntOhm = ina?.shunt_ohm ?? 0.1
  const maxCurrentA = ina?.max_current_a ?? 3.2
  const fallback = (): PowerMeter => surrogateMeter(profile, clock, cpuUtilisation(clock, profile.cores, o.cpuUsage))
  const initOn = async (bus: I2cBus): Promise<PowerMeter> => {
    try {
      return await openIna219Meter(bus, clock, { address, shuntOhm, maxCurrentA })
    } catch (err) {
      await bus.close().catch(() => {})
      throw err
    }
  }

  let open: () => Promise<PowerMeter>
  let sensor = `INA219 on ${where(busNumber, address)}`
  if (config.sim !== undefined && config.sim.ina219) {
    sensor = `simulated ${sensor}`
    const util = cpuUtilisation(clock, profile.cores, o.cpuUsage)
    const power = o.simPowerW ?? (() => profilePowerW(profile, util()))
    open = async () => await initOn(new SimI2cBus(busNumber).attach(address, new SimIna219(clock, loadOnSupply(power, SUPPLY_V, shuntOhm), shuntOhm)))
  } else if (ina !== undefined) {
    open = async () => {
      let bus: I2cBus
      try {
        bus = await (o.openBus ?? openLinuxI2cBus)(busNumber)
      } catch (err) {
        throw new Error(`cannot open /dev/i2c-${busNumber} for ${sensor}: ${(err as Error).message}`, { cause: err })
      }
      return await initOn(bus)
    }
  } else {
    sensor = 'none configured'
    open = async () => {
      o.log.info(`no INA219 configured; power from the surrogate model of profile ${profile.name}`)
      return fallback()
    }
  }
  return new MeteredEnergyPort({ clock, profile, log: o.log, open, fallback, sensor, learn: o.learn })
}
