import type { Clock } from '../../runtime/shared/clock.js'
import type { I2cBus } from '../i2c/i2c-bus.js'
import { sensorError } from '../errors.js'
import type { PowerMeter } from '../meter.js'
import { Ina219, type Ina219Options } from './ina219.js'
import { adcTimeUs } from './registers.js'

/**
 * The INA219 as a power meter. It runs in triggered mode: every read takes the conversion
 * triggered by the previous read and triggers the next, so each reading is the mean over a
 * known window (128 averaged shunt samples, 68.1 ms, SBOS448 §8.6.2.1 Table 5) and is
 * stamped at that window's middle. In continuous mode the window's phase would be unknown,
 * and a reading would lag the moment it is taken by up to a whole conversion.
 */
export const openIna219Meter = async (bus: I2cBus, clock: Clock, opts: Omit<Ina219Options, 'bus'>): Promise<PowerMeter> => {
  const chip = new Ina219({ ...opts, bus, config: { shuntAdc: 'avg128', busAdc: '12bit', ...opts.config, mode: 'shunt-bus-triggered' } })
  await chip.init()
  let triggeredAt = clock.now()
  const half = adcTimeUs(chip.config.shuntAdc) / 2000
  return {
    source: 'ina219',
    read: async () => {
      const r = await chip.read()
      const atMs = triggeredAt + half
      await chip.trigger()
      triggeredAt = clock.now()
      if (!r.fresh) throw sensorError(bus.busNumber, opts.address, 'conversion not ready: sample rate too high for the ADC averaging')
      return { watts: r.powerW, atMs, windowMs: 2 * half }
    },
    close: async () => { await bus.close() }
  }
}
