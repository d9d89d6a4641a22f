import t from 'tap'
import { openLinuxGpioPin } from '../../node-firmware-bridge/gpio/linux-gpio-pin.js'
import { gpioPinContract } from './gpio.contract.js'

// On a board, with a free line (nothing but a relay or an LED on it): WISP_HW_TEST=1 WISP_HW_GPIO_LINE=<n>
const line = process.env.WISP_HW_GPIO_LINE
if (process.env.WISP_HW_TEST !== '1' || line === undefined) {
  t.test('contract on real hardware', { skip: 'real GPIO tests need WISP_HW_TEST=1 and WISP_HW_GPIO_LINE on a board (see docs/power.md)' }, async () => {})
} else {
  gpioPinContract(t, async (initial) => await openLinuxGpioPin(Number(line), initial))
}
