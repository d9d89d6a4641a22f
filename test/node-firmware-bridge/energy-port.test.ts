import t from 'tap'
import { getProfile, parseProfile, loadProfiles } from '../../boards/index.js'
import { BoardConfigSchema } from '../../boards/schema.js'
import { ManualClock } from '../../runtime/shared/clock.js'
import type { Logger } from '../../runtime/shared/log.js'
import { createEnergyPort } from '../../node-firmware-bridge/index.js'
import { SimI2cBus } from '../../node-firmware-bridge/i2c/sim-i2c-bus.js'
import { SimIna219, loadOnSupply } from '../../node-firmware-bridge/ina219/sim-ina219.js'

const profile = getProfile('raspberry-pi-zero-2w')
const board = (extra: object) => BoardConfigSchema.parse({ id: 'b1', profile: profile.name, broker: 'mqtt://localhost', ...extra })
const recorder = (): Logger & { warnings: string[] } => {
  const warnings: string[] = []
  return { warnings, debug: () => {}, info: () => {}, error: () => {}, warn: (m, x) => { warnings.push(`${m} ${JSON.stringify(x ?? {})}`) } }
}
const flush = async (): Promise<void> => { await new Promise<void>((resolve) => setImmediate(resolve)) }
const run = async (clock: ManualClock, ms: number): Promise<void> => { for (let i = 0; i < ms / 50; i++) { clock.advance(50); await flush() } }

t.test('a board config naming a missing I2C bus falls back to the surrogate with a warning', async (t) => {
  const log = recorder()
  const clock = new ManualClock()
  const port = createEnergyPort({ config: board({ ina219: { bus: 213, address: 0x40 } }), profile, clock, log })
  await port.start()
  t.equal(port.source, 'surrogate')
  t.match(log.warnings.join('\n'), /i2c-213/)
  t.match(log.warnings.join('\n'), /bus 213 address 0x40/)
  await port.stop()
})

t.test('a wrong address (no ACK) falls back to the surrogate with a warning naming bus and address', async (t) => {
  const log = recorder()
  const clock = new ManualClock()
  const bus = new SimI2cBus(1).attach(0x40, new SimIna219(clock, loadOnSupply(() => 1), 0.1))
  const port = createEnergyPort({ config: board({ ina219: { bus: 1, address: 0x44 } }), profile, clock, log, openBus: async () => bus })
  await port.start()
  t.equal(port.source, 'surrogate')
  t.match(log.warnings.join('\n'), /WISP_SENSOR|bus 1 address 0x44/)
  t.match(log.warnings.join('\n'), /bus 1 address 0x44/)
  await port.stop()
})

t.test('a real sensor on the configured bus and address is used', async (t) => {
  const clock = new ManualClock()
  const bus = new SimI2cBus(1).attach(0x41, new SimIna219(clock, loadOnSupply(() => 2.0), 0.1))
  const port = createEnergyPort({ config: board({ ina219: { bus: 1, address: 0x41 } }), profile, clock, log: recorder(), openBus: async () => bus })
  await port.start()
  t.equal(port.source, 'ina219')
  await run(clock, 1000)
  t.ok(Math.abs(port.powerW() - 2.0) < 0.01, `reads 2 W (${port.powerW()})`)
  t.ok(Math.abs(port.energyJ() - 2.0 * 0.9) < 0.05, `integrates 2 W over 0.9 s (${port.energyJ()})`)
  t.ok(port.recent().length >= 9)
  await port.stop()
})

t.test('sim boards draw more when the agent works (simulated INA219 driven by CPU use)', async (t) => {
  const clock = new ManualClock()
  let cpuUs = 0
  const port = createEnergyPort({ config: board({ sim: {} }), profile, clock, log: recorder(), cpuUsage: () => ({ user: cpuUs, system: 0 }) })
  await port.start()
  t.equal(port.source, 'ina219')
  await run(clock, 1000)
  const idle = port.powerW()
  for (let i = 0; i < 20; i++) { cpuUs += 2 * 50_000; clock.advance(50); await flush() }
  const busy = port.powerW()
  t.ok(Math.abs(idle - profile.idle_w) < 0.02, `idle ≈ ${profile.idle_w} W (${idle})`)
  t.ok(Math.abs(busy - (profile.idle_w + (profile.peak_w - profile.idle_w) / 2)) < 0.15, `two of four cores busy ≈ half way to peak (${busy})`)
  await port.stop()
})

t.test('no sensor configured: the surrogate, without a warning', async (t) => {
  const log = recorder()
  const clock = new ManualClock()
  let cpuUs = 0
  const port = createEnergyPort({ config: board({}), profile, clock, log, cpuUsage: () => ({ user: cpuUs, system: 0 }) })
  await port.start()
  t.equal(port.source, 'surrogate')
  t.same(log.warnings, [])
  for (let i = 0; i < 20; i++) { cpuUs += 4 * 50_000; clock.advance(50); await flush() }
  t.ok(Math.abs(port.powerW() - profile.peak_w) < 1e-9, 'all cores busy → peak_w')
  await port.stop()
})

t.test('end() of an unknown invocation gives nothing; a short one gets its share', async (t) => {
  const clock = new ManualClock()
  const port = createEnergyPort({ config: board({}), profile, clock, log: recorder(), cpuUsage: () => ({ user: clock.now() * 1000, system: 0 }) })
  await port.start()
  t.same(port.end('nope', 5).energy_mj, 0)
  await run(clock, 300)
  port.begin('a', 'fn')
  await run(clock, 200)
  const s = port.end('a', 200)
  t.ok(s.energy_mj > 0 && s.power_w > 0, `${s.energy_mj} mJ at ${s.power_w} W`)
  await port.stop()
})

t.test('an invalid profile is WISP_BAD_CONFIG naming the field', async (t) => {
  const good = { ...loadProfiles().get('raspberry-pi-4b') }
  t.throws(() => parseProfile({ ...good, idle_w: -1 }), { code: 'WISP_BAD_CONFIG', message: /field "idle_w"/ })
  t.throws(() => parseProfile({ ...good, peak_w: 1 }), { code: 'WISP_BAD_CONFIG', message: /field "peak_w"/ })
  t.throws(() => parseProfile({ ...good, sample_hz: 0 }), { code: 'WISP_BAD_CONFIG', message: /field "sample_hz"/ })
})
