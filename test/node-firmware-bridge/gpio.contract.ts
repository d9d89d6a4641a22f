import type { Test } from 'tap'
import type { GpioPin, Level } from '../../node-firmware-bridge/gpio/gpio-pin.js'

/** One suite for every GpioPin: the sysfs line on a board, or the simulated one. */
export const gpioPinContract = (t: Test, open: (initial: Level) => Promise<GpioPin>): void => {
  t.test('starts at the initial level and reads back what it wrote', async (t) => {
    const pin = await open(1)
    try {
      t.equal(await pin.read(), 1)
      await pin.write(0)
      t.equal(await pin.read(), 0)
      await pin.write(1)
      t.equal(await pin.read(), 1)
    } finally { await pin.close() }
  })

  t.test('onChange reports each change once, not a write of the same level', async (t) => {
    const pin = await open(0)
    const seen: Level[] = []
    const off = pin.onChange((l) => { seen.push(l) })
    try {
      await pin.write(0)
      await pin.write(1)
      await pin.write(1)
      await pin.write(0)
      off()
      await pin.write(1)
      t.same(seen, [1, 0], 'two changes while subscribed')
    } finally { await pin.close() }
  })

  t.test('a closed pin refuses writes', async (t) => {
    const pin = await open(0)
    await pin.close()
    await t.rejects(pin.write(1))
  })
}
