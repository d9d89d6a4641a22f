import t from 'tap'
import { openLinuxI2cBus } from '../../node-firmware-bridge/i2c/linux-i2c-bus.js'
import { ina219Contract } from './ina219.contract.js'

// On a board with an INA219: WISP_HW_TEST=1 [WISP_HW_I2C_BUS=1 WISP_HW_INA219_ADDR=0x40 WISP_HW_SHUNT_OHM=0.1 WISP_HW_ABSENT_ADDR=0x4f]
const env = process.env
if (env.WISP_HW_TEST !== '1') {
  t.test('contract on real hardware', { skip: 'real INA219 tests need WISP_HW_TEST=1 on a board with the sensor wired (see docs/power.md)' }, async () => {})
} else {
  const busNumber = Number(env.WISP_HW_I2C_BUS ?? 1)
  ina219Contract(t, async () => ({
    bus: await openLinuxI2cBus(busNumber),
    address: Number(env.WISP_HW_INA219_ADDR ?? 0x40),
    absentAddress: Number(env.WISP_HW_ABSENT_ADDR ?? 0x4f),
    shuntOhm: Number(env.WISP_HW_SHUNT_OHM ?? 0.1),
    maxCurrentA: Number(env.WISP_HW_MAX_CURRENT_A ?? 3.2),
    settle: async (ms) => { await new Promise((resolve) => setTimeout(resolve, ms + 1)) },
    close: async () => {}
  }))
}
