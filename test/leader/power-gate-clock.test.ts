// The gateway's power path in this process on a manual clock: leader, control loop, power
// controller and a PowerGate on a simulated GPIO line; a real agent that drains and shuts down.
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getProfile } from '../../boards/index.js'
import { SimGpioPin } from '../../node-firmware-bridge/gpio/sim-gpio-pin.js'
import { LIVE_POWER_DEFAULTS, startGateway } from '../../runtime/gateway/main.js'
import { DEFAULT_LEADER_OPTIONS } from '../../runtime/leader/leader.js'
import { POWER_GATE_DEFAULTS, bootBreakEvenMs } from '../../runtime/leader/policies/power-gate.js'
import { POWER_POLL_MS } from '../../runtime/leader/power-controller.js'
import { ManualClock } from '../../runtime/shared/clock.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { inProcessBoard } from '../helpers/board.js'
import { ScriptedBoard, gossipHeard, until } from '../helpers/leader-rig.js'
import { freePort } from '../helpers/ports.js'

const T0 = 2_000_000
const LEADER_STALE_BOUND = DEFAULT_LEADER_OPTIONS.staleMs

t.test('an idle board is gated on the first power tick past the live idle bound, the relay opening its shutdown time after it says offline; woken, it stays on for the dwell', async (t) => {
  const clock = new ManualClock(T0)
  const pin = new SimGpioPin(17, 1)
  const levels: Array<[number, number]> = []
  pin.onChange((level) => { levels.push([level, clock.now()]) })
  const dir = mkdtempSync(join(tmpdir(), 'wisp-gw-'))
  const gw = await startGateway({
    dataDir: dir, mqttPort: await freePort(), mqttHost: '127.0.0.1', httpPort: null, log: silentLogger, clock,
    relays: new Map([['b1', { pin, activeLow: false, profile: 'raspberry-pi-4b' }]])
  })
  t.teardown(async () => { await gw.close(); rmSync(dir, { recursive: true, force: true }) })
  const leader = gw.leader
  // The board as the relay powers it: a real agent on the gateway's clock (started again after a wake).
  let b1Sent = -Infinity
  const startB1 = async (): Promise<Awaited<ReturnType<typeof inProcessBoard>>> => {
    const b = await inProcessBoard({ id: 'b1', broker: gw.url, clock })
    b1Sent = clock.now()
    b.agent.onChange(() => { b1Sent = clock.now() })
    return b
  }
  let b1 = await startB1()
  t.teardown(async () => await b1.cleanup())
  // The gateway's own board: never gated, so b1 is not the last powered board.
  let b2 = await ScriptedBoard.start(gw.url, 'b2', 1000, { clock, profile: 'gateway' })
  t.teardown(async () => await b2.close())
  await until(() => leader.cluster.routable('b1') && leader.cluster.routable('b2'), 10_000, 'both boards to join')

  const heard = gossipHeard(leader, [{ id: 'b1', sentAt: () => b1Sent }, { id: 'b2', sentAt: () => b2.lastGossipAt }])
  // Once gating has begun, the board's drain and shutdown happen before time moves on.
  const settle = async (): Promise<void> => {
    await heard()
    if (leader.cluster.get('b1')?.power === 'shutting-down') await until(() => leader.cluster.get('b1')?.status === 'offline', 10_000, 'b1 to say offline')
  }
  const gateDecision = () => leader.recentDecisions().find((d) => d.kind === 'power' && d.choice === 'b1')
  const idleSince = leader.cluster.get('b1')?.idleSince ?? NaN
  const interval = POWER_GATE_DEFAULTS.intervalMs
  const expectedAt = T0 + interval * Math.ceil((idleSince + LIVE_POWER_DEFAULTS.idleMs - T0) / interval)

  await clock.run(expectedAt - clock.now() + 2 * interval, { settle, stop: () => gateDecision() !== undefined })
  t.equal(gateDecision()?.at, expectedAt, 'decided on the first power tick at least idleMs after the board went idle')
  t.equal(clock.now(), expectedAt)
  t.same(levels, [], 'the relay is still closed while the board shuts down')

  await clock.run(60_000, { settle, stop: () => levels.length > 0 })
  t.equal(leader.cluster.get('b1')?.status, 'offline', 'the board said offline first')
  // It said offline before the controller's first look; then the profile's shutdown time.
  t.same(levels, [[0, expectedAt + POWER_POLL_MS + getProfile('raspberry-pi-4b').shutdown_s * 1000]], 'relay opened exactly then')
  await until(() => leader.cluster.get('b1')?.power === 'gated', 5000, 'the board to be marked gated')
  t.equal(leader.cluster.get('b2')?.power, 'on', 'the gateway board stays on')

  // The gateway board goes quiet: with no board powered, the policy wakes b1 at once, dwell or not.
  await b1.cleanup()
  await b2.close()
  await clock.run(2 * LEADER_STALE_BOUND, { settle, stop: () => levels.length > 1 })
  const wokenAt = clock.now()
  t.same(levels[1], [1, wokenAt], 'the relay closes again')
  t.equal(leader.cluster.get('b1')?.power, 'booting')
  t.match(leader.recentDecisions().filter((d) => d.kind === 'power').at(-1), { choice: 'b1', at: wokenAt, reason: 'no board powered' })
  b1 = await startB1()
  b2 = await ScriptedBoard.start(gw.url, 'b2', 1000, { clock, profile: 'gateway' })
  await until(() => leader.cluster.routable('b1') && leader.cluster.routable('b2'), 10_000, 'both boards back')
  t.ok((leader.cluster.get('b1')?.idleSince ?? Infinity) + LIVE_POWER_DEFAULTS.idleMs <= wokenAt, 'b1 has been idle past the bound all along')

  // Idle, but just woken: it stays on for its minimum on-time (the dwell: its boot break-even is shorter).
  t.ok(bootBreakEvenMs(getProfile('raspberry-pi-4b')) < LIVE_POWER_DEFAULTS.dwellMs)
  await clock.run(LIVE_POWER_DEFAULTS.dwellMs + 2 * interval, { settle, stop: () => leader.cluster.get('b1')?.power === 'shutting-down' })
  t.equal(clock.now(), wokenAt + LIVE_POWER_DEFAULTS.dwellMs, 'gated again on the first power tick once the dwell has passed')
})
