import t from 'tap'
import { ManualClock } from '../../runtime/shared/clock.js'
import { SimI2cBus } from '../../node-firmware-bridge/i2c/sim-i2c-bus.js'
import { SimIna219, constantSource, loadOnSupply } from '../../node-firmware-bridge/ina219/sim-ina219.js'
import { Ina219 } from '../../node-firmware-bridge/ina219/ina219.js'
import { REG, calibrationFor, encodeConfig, int16 } from '../../node-firmware-bridge/ina219/registers.js'
import { ina219Contract } from './ina219.contract.js'

t.test('contract: simulated INA219 on a simulated bus', async (t) => {
  ina219Contract(t, async () => {
    const clock = new ManualClock(1000)
    const bus = new SimI2cBus(1).attach(0x40, new SimIna219(clock, loadOnSupply(() => 2.5), 0.1))
    return { bus, address: 0x40, absentAddress: 0x45, shuntOhm: 0.1, maxCurrentA: 3.2, settle: async (ms) => { clock.advance(ms) }, close: bus.close }
  })
})

t.test('calibration for 32 V, 2 A max, 0.1 Ω (SBOS448 §8.5.1 equations 1-3)', async (t) => {
  const c = calibrationFor(0.1, 2)
  t.equal(c.currentLsbA, 2 / 32768, 'Current_LSB = 2 A / 2^15 = 61.035 µA')
  t.equal(c.cal, 6710, 'Cal = trunc(0.04096 / (61.035 µA · 0.1 Ω)) = trunc(6710.9)')
  t.equal(c.powerLsbW, 20 * 2 / 32768, 'Power_LSB = 20 · Current_LSB')
  t.equal(calibrationFor(0.1, 2, 100e-6).cal, 4096, 'a rounded 100 µA LSB gives 4096')
})

t.test('the datasheet worked example: 10 A, 12 V, 2 mΩ, Current_LSB 1 mA (SBOS448 §8.5.1, Configure/Measure/Calculate table)', async (t) => {
  const clock = new ManualClock()
  // 12 V common mode, 20 mV across the shunt: IN− sits at 11.98 V.
  const bus = new SimI2cBus(1).attach(0x40, new SimIna219(clock, constantSource(11.98, 10), 0.002))
  const chip = new Ina219({ bus, address: 0x40, shuntOhm: 0.002, maxCurrentA: 15, currentLsbA: 1e-3, config: { busRange: 16, gain: 1, busAdc: '12bit', shuntAdc: '12bit', mode: 'shunt-bus-continuous' } })
  await chip.init()
  t.equal(encodeConfig(chip.config), 0x019f, 'step 1: configuration 019Fh')
  t.equal(chip.calibration.cal, 20480, 'step 4: calibration 20480 (5000h)')
  clock.advance(2)
  t.equal(await chip.readRegister(REG.shunt), 0x07d0, 'step 2: shunt 07D0h = 2000 → 20 mV')
  t.equal((await chip.readRegister(REG.bus)) & ~0x7, 0x5d98, 'step 3: bus 5D98h → 2995 → 11.98 V')
  t.equal(await chip.readRegister(REG.current), 0x2710, 'step 5: current 2710h = 10000 → 10.0 A')
  t.equal(await chip.readRegister(REG.power), 0x1766, 'step 6: power 1766h = 5990 → 119.8 W')
  clock.advance(2)
  const r = await chip.read()
  t.ok(Math.abs(r.currentA - 10) < 1e-9 && Math.abs(r.powerW - 119.8) < 1e-9 && Math.abs(r.busV - 11.98) < 1e-9)
})

t.test('registers go MSB first on the wire; the SMBus word is swapped', async (t) => {
  const clock = new ManualClock()
  const dev = new SimIna219(clock, constantSource(5, 0.5))
  t.same(dev.read(REG.config, 2), [0x39, 0x9f], 'wire order: 39h then 9Fh')
  const bus = new SimI2cBus(3).attach(0x41, dev)
  t.equal(await bus.readWord(0x41, REG.config), 0x9f39, 'an SMBus word read sees 9F39h')
  t.equal(await new Ina219({ bus, address: 0x41, shuntOhm: 0.1, maxCurrentA: 3.2 }).readRegister(REG.config), 0x399f)
})

t.test('readings are quantised to the register LSBs', async (t) => {
  const clock = new ManualClock()
  const bus = new SimI2cBus(1).attach(0x40, new SimIna219(clock, constantSource(5.0013, 0.123456), 0.1))
  const chip = new Ina219({ bus, address: 0x40, shuntOhm: 0.1, maxCurrentA: 3.2 })
  await chip.init()
  clock.advance(100)
  t.equal(int16(await chip.readRegister(REG.shunt)), 1235, '12.3456 mV → 1235 × 10 µV')
  t.equal((await chip.readBusVoltage()).volts, 1250 * 0.004, '5.0013 V → 1250 × 4 mV')
  t.equal(await chip.readCurrent(), Math.trunc(1235 * chip.calibration.cal / 4096) * chip.calibration.currentLsbA)
})

t.test('negative shunt voltage reads as two\'s complement', async (t) => {
  const clock = new ManualClock()
  const bus = new SimI2cBus(1).attach(0x40, new SimIna219(clock, constantSource(5, -0.2), 0.1))
  const chip = new Ina219({ bus, address: 0x40, shuntOhm: 0.1, maxCurrentA: 3.2 })
  await chip.init()
  clock.advance(100)
  t.ok(Math.abs(await chip.readShuntVoltage() + 0.02) < 1e-9)
  t.ok(await chip.readCurrent() < -0.19)
})

t.test('math overflow and a saturated shunt are WISP_SENSOR errors', async (t) => {
  const clock = new ManualClock()
  // A calibration too large for the current: Current = Shunt · Cal / 4096 leaves int16.
  const bus = new SimI2cBus(1).attach(0x40, new SimIna219(clock, constantSource(5, 3), 0.1))
  const chip = new Ina219({ bus, address: 0x40, shuntOhm: 0.1, maxCurrentA: 0.5 })
  await chip.init()
  clock.advance(100)
  t.ok((await chip.readBusVoltage()).overflow, 'OVF set')
  await t.rejects(chip.read(), { code: 'WISP_SENSOR', message: /overflow.*|OVF/ })

  const bus2 = new SimI2cBus(1).attach(0x40, new SimIna219(clock, constantSource(5, 4), 0.1))
  const chip2 = new Ina219({ bus: bus2, address: 0x40, shuntOhm: 0.1, maxCurrentA: 3.2 })
  await chip2.init()
  clock.advance(100)
  await t.rejects(chip2.readShuntVoltage(), { code: 'WISP_SENSOR', message: /full scale/ })
})

t.test('triggered mode converts once per trigger and CNVR follows', async (t) => {
  const clock = new ManualClock()
  let amps = 0.5
  const bus = new SimI2cBus(1).attach(0x40, new SimIna219(clock, { sample: () => ({ busV: 5, currentA: amps }) }, 0.1))
  const chip = new Ina219({ bus, address: 0x40, shuntOhm: 0.1, maxCurrentA: 3.2, config: { mode: 'shunt-bus-triggered', shuntAdc: '12bit' } })
  await chip.init()
  clock.advance(2)
  t.ok((await chip.readBusVoltage()).conversionReady, 'one shunt + bus conversion takes 1.06 ms')
  const first = await chip.readCurrent()
  amps = 1.0
  clock.advance(10)
  t.equal(await chip.readCurrent(), first, 'no new conversion without a trigger')
  await chip.readPower()
  t.notOk((await chip.readBusVoltage()).conversionReady, 'power read cleared CNVR')
  await chip.trigger()
  clock.advance(2)
  t.ok((await chip.readBusVoltage()).conversionReady)
  t.ok(Math.abs(await chip.readCurrent() - 1.0) < 0.001, 'the trigger took a new conversion')
})
