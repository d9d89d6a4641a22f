// The gateway's power path in this process on a manual clock: leader, control loop, power
// controller and a PowerGate on a simulated GPIO line; a real agent that drains and shuts down.
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getProfile } from '../../boards/index.js'
import { SimGpioPin } from '../../node-firmware-bridge/gpio/sim-gpio-pin.js'
import { LIVE_POWER_DEFAULTS, startGateway } from '../../runtime/gateway/main.js'
import { POWER_GATE_DEFAULTS } from '../../runtime/leader/policies/power-gate.js'
import { POWER_POLL_MS } from '../../runtime/leader/power-controller.js'
import { ManualClock } from '../../runtime/shared/clock.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { inProcessBoard } from '../helpers/board.js'
import { ScriptedBoard, gossipHeard, until } from '../helpers/leader-rig.js'
import { freePort } from '../helpers/ports.js'

const T0 = 2_000_000

t.test('an idle board is gated on the first power tick past the live idle bound; the relay opens its shutdown time after it says offline', async (t) => {
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
  const b1 = await inProcessBoard({ id: 'b1', broker: gw.url, clock })
  t.teardown(b1.cleanup)
  let b1Sent = clock.now()
  b1.agent.onChange(() => { b1Sent = clock.now() })
  // The gateway's own board: never gated, so b1 is not the last powered board.
  const b2 = await ScriptedBoard.start(gw.url, 'b2', 1000, { clock, profile: 'gateway' })
  t.teardown(() => b2.close())
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
})
