import type { Test } from 'tap'
import type { I2cBus } from '../../node-firmware-bridge/i2c/i2c-bus.js'
import { Ina219 } from '../../node-firmware-bridge/ina219/ina219.js'
import { CONFIG_DEFAULT, REG, encodeConfig, int16 } from '../../node-firmware-bridge/ina219/registers.js'

/** What the contract needs from an implementation: a bus with an INA219 on it, and a way to let time pass. */
export interface Ina219Fixture {
  readonly bus: I2cBus
  readonly address: number
  /** An address where no device answers. */
  readonly absentAddress: number
  readonly shuntOhm: number
  readonly maxCurrentA: number
  /** Lets at least ms of (real or simulated) time pass. */
  readonly settle: (ms: number) => Promise<void>
  readonly close: () => Promise<void>
}

/** One suite for every INA219 behind an I2cBus: the Linux adapter with a chip, or the simulation. */
export const ina219Contract = (t: Test, make: () => Promise<Ina219Fixture>): void => {
  const withChip = async (fn: (f: Ina219Fixture, chip: Ina219) => Promise<void>): Promise<void> => {
    const f = await make()
    try { await fn(f, new Ina219({ bus: f.bus, address: f.address, shuntOhm: f.shuntOhm, maxCurrentA: f.maxCurrentA })) } finally { await f.close() }
  }

  t.test('reset restores the power-on register values (SBOS448 Table 2)', async (t) => withChip(async (f, chip) => {
    await chip.writeRegister(REG.calibration, 0x1234)
    await chip.reset()
    t.equal(await chip.readRegister(REG.config), CONFIG_DEFAULT, 'configuration 399Fh')
    t.equal(await chip.readRegister(REG.calibration), 0, 'calibration 0')
    await f.settle(2)
    t.equal(await chip.readRegister(REG.current), 0, 'current is 0 while calibration is 0')
    t.equal(await chip.readRegister(REG.power), 0, 'power is 0 while calibration is 0')
  }))

  t.test('init programs configuration and calibration and reads them back', async (t) => withChip(async (_f, chip) => {
    await chip.init()
    t.equal(await chip.readRegister(REG.config), encodeConfig(chip.config))
    t.equal(await chip.readRegister(REG.calibration), chip.calibration.cal)
    t.same(await chip.readConfig(), chip.config)
  }))

  t.test('calibration bit 0 is void and reads 0 (SBOS448 §8.6.4.1)', async (t) => withChip(async (_f, chip) => {
    await chip.writeRegister(REG.calibration, 0x1001)
    t.equal(await chip.readRegister(REG.calibration), 0x1000)
  }))

  t.test('the chip computes current and power from its own registers (SBOS448 §8.5.1)', async (t) => withChip(async (f, chip) => {
    await chip.init()
    // Triggered mode freezes one conversion so that all registers belong to it.
    await chip.writeRegister(REG.config, encodeConfig({ ...chip.config, mode: 'shunt-bus-triggered', shuntAdc: '12bit' }))
    await f.settle(5)
    const bus = await chip.readRegister(REG.bus)
    t.ok((bus & 0x2) !== 0, 'CNVR set once the conversion is done')
    const shunt = int16(await chip.readRegister(REG.shunt))
    const current = int16(await chip.readRegister(REG.current))
    const power = await chip.readRegister(REG.power)
    t.equal(current, Math.trunc(shunt * chip.calibration.cal / 4096), 'Current = Shunt · Cal / 4096')
    t.ok(Math.abs(power - Math.trunc(Math.abs(current) * (bus >> 3) / 5000)) <= 1, 'Power = Current · Bus / 5000')
    t.equal((await chip.readRegister(REG.bus)) & 0x2, 0, 'reading power cleared CNVR')
  }))

  t.test('a reading is in range and in volts, amperes and watts', async (t) => withChip(async (f, chip) => {
    await chip.init()
    await f.settle(150)
    const r = await chip.read()
    t.ok(r.busV > 0.5 && r.busV < 26, `bus ${r.busV} V within the INA219's 0-26 V`)
    t.ok(Math.abs(r.currentA) <= f.maxCurrentA, `current ${r.currentA} A within max`)
    t.ok(Math.abs(r.powerW - r.busV * Math.abs(r.currentA)) <= 0.02 * r.powerW + 4 * chip.calibration.powerLsbW, `power ${r.powerW} W ≈ V·I`)
  }))

  t.test('an absent device is a WISP_SENSOR error naming bus and address', async (t) => {
    const f = await make()
    try {
      const chip = new Ina219({ bus: f.bus, address: f.absentAddress, shuntOhm: f.shuntOhm, maxCurrentA: f.maxCurrentA })
      const hex = `0x${f.absentAddress.toString(16)}`
      await t.rejects(chip.init(), { code: 'WISP_SENSOR', message: new RegExp(`bus ${f.bus.busNumber} address ${hex}`) })
    } finally { await f.close() }
  })
}
