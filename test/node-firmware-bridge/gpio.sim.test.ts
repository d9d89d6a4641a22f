import t from 'tap'
import { SimGpioPin } from '../../node-firmware-bridge/gpio/sim-gpio-pin.js'
import { gpioPinContract } from './gpio.contract.js'

t.test('contract: simulated GPIO pin', async (t) => {
  gpioPinContract(t, async (initial) => new SimGpioPin(17, initial))
})
