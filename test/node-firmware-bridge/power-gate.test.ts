import t from 'tap'
import { ManualClock } from '../../runtime/shared/clock.js'
import { SimGpioPin } from '../../node-firmware-bridge/gpio/sim-gpio-pin.js'
import { PowerGate, type PowerGatePorts } from '../../node-firmware-bridge/gpio/power-gate.js'
import type { Level } from '../../node-firmware-bridge/gpio/gpio-pin.js'

const flush = async (): Promise<void> => { for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve)) }

/** Advances the clock in steps, letting promises run between them; bounded. */
const drive = async (clock: ManualClock, ms: number, step = 100): Promise<void> => {
  await flush()
  for (let done = 0; done < ms; done += step) { clock.advance(Math.min(step, ms - done)); await flush() }
}

/** A tiny simulated board: finishes its work workMs after drain, powers off osMs after shutdown. */
const simBoard = (clock: ManualClock, workMs: number, osMs: number | undefined): PowerGatePorts & { log: string[] } => {
  const log: string[] = []
  let drained: () => void = () => {}
  let offline: () => void = () => {}
  const drainedP = new Promise<void>((resolve) => { drained = resolve })
  const offlineP = new Promise<void>((resolve) => { offline = resolve })
  return {
    log,
    drain: () => { log.push(`drain@${clock.now()}`); clock.setTimeout(() => { log.push(`drained@${clock.now()}`); drained() }, workMs) },
    drained: async () => await drainedP,
    shutdown: () => { log.push(`shutdown@${clock.now()}`); if (osMs !== undefined) clock.setTimeout(() => { log.push(`offline@${clock.now()}`); offline() }, osMs) },
    offline: async () => await offlineP
  }
}

for (const activeLow of [false, true]) {
  const on: Level = activeLow ? 0 : 1
  const off: Level = activeLow ? 1 : 0
  t.test(`gate() drains, shuts down, waits shutdown_s after offline, then opens the relay (active_low=${activeLow})`, async (t) => {
    const clock = new ManualClock()
    const pin = new SimGpioPin(5, off)
    const cuts: number[] = []
    pin.onChange((l) => { if (l === off) cuts.push(clock.now()) })
    const board = simBoard(clock, 2000, 3000)
    const gate = new PowerGate({ id: 'b1', pin, activeLow, clock, profile: { shutdown_s: 6 }, ports: board })
    await gate.init()
    t.equal(await pin.read(), on, 'relay closed: board powered')
    const result = gate.gate()
    await drive(clock, 20_000)
    t.same(await result, { drained: true, offline: true })
    t.same(board.log, ['drain@0', 'drained@2000', 'shutdown@2000', 'offline@5000'])
    t.same(cuts, [11_000], 'relay opened 6 s (shutdown_s) after offline')
    t.equal(gate.state, 'off')
    await gate.wake()
    t.equal(await pin.read(), on, 'wake() closes the relay')
  })
}

t.test('gate() still cuts power, late, when the board neither drains nor reports offline', async (t) => {
  const clock = new ManualClock()
  const pin = new SimGpioPin(5, 1)
  const gate = new PowerGate({ id: 'b2', pin, activeLow: false, clock, profile: { shutdown_s: 5 }, ports: simBoard(clock, 1e9, undefined), drainTimeoutMs: 10_000, offlineTimeoutMs: 20_000 })
  let cutAt = -1
  pin.onChange((l) => { if (l === 0) cutAt = clock.now() })
  const result = gate.gate()
  await drive(clock, 40_000, 500)
  t.same(await result, { drained: false, offline: false })
  t.equal(cutAt, 35_000, 'drain timeout 10 s + offline timeout 20 s + shutdown 5 s')
})

t.test('powerCycle() opens then closes the relay; overlapping operations are refused', async (t) => {
  const clock = new ManualClock()
  const pin = new SimGpioPin(5, 1)
  const levels: Array<[number, Level]> = []
  pin.onChange((l) => { levels.push([clock.now(), l]) })
  const gate = new PowerGate({ id: 'b3', pin, activeLow: false, clock, profile: { shutdown_s: 5 }, ports: simBoard(clock, 0, 0), cycleOffMs: 3000 })
  const cycle = gate.powerCycle()
  await flush()
  t.equal(gate.state, 'cycling')
  await t.rejects(gate.wake(), /busy/)
  await drive(clock, 5000)
  await cycle
  t.same(levels, [[0, 0], [3000, 1]])
  t.equal(gate.state, 'on')
})
