import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway } from '../../runtime/gateway/main.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { systemClock } from '../../runtime/shared/clock.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { SimI2cBus } from '../../node-firmware-bridge/i2c/sim-i2c-bus.js'
import { SimIna219, loadOnSupply } from '../../node-firmware-bridge/ina219/sim-ina219.js'
import { inProcessBoard } from '../helpers/board.js'
import { ECHO, until } from '../helpers/leader-rig.js'
import { TestClient } from '../helpers/mqtt.js'
import { busyPowerW } from '../../runtime/board-model/power.js'
import type { ClusterSnapshot } from '../../runtime/status/types.js'

interface State { seq: number, power_w: number, power_unknown?: boolean, power_source: string }

/**
 * The INA219 behind the board's real driver is the register-level simulation on a simulated I2C
 * bus; the bus is made to fail every transfer (EIO) while the board serves over a real broker.
 */
t.test('an I2C failure of the power sensor: the agent keeps serving, its state says the power is unknown, and it recovers', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-sensor-fault-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const gw = await startGateway({ dataDir: dir, mqttPort: 0, httpPort: 0, log: silentLogger })
  t.teardown(gw.close)
  const T = new Topics()
  await publishDeployment(gw.transport, T, buildManifest('echo', ECHO), ECHO)
  const bus = new SimI2cBus(1).attach(0x40, new SimIna219(systemClock, loadOnSupply(() => 3), 0.1))
  const board = await inProcessBoard({
    id: 'b1', broker: gw.url, openBus: async () => bus,
    extra: { ina219: { bus: 1, address: 0x40 }, sim: { emulate_speed: false, ina219: false }, gossip_ms: 200 }
  })
  t.teardown(board.cleanup)
  await until(() => gw.leader.cluster.routable('b1') && gw.registry.get('echo') !== undefined, 20_000, 'the board to join')
  const client = await TestClient.connect(gw.url)
  t.teardown(() => client.close())
  await client.sub('wisp/result/t/#')
  await client.sub(T.board('b1', 'state'))
  const states = (): State[] => client.on(T.board('b1', 'state')).map((m) => m.json as State)
  let n = 0
  const invoke = async (): Promise<{ ok: boolean }> => {
    const topic = `wisp/result/t/echo/r${++n}`
    await client.pub(`wisp/invoke/echo/t/r${n}`, `{"n":${n}}`)
    await client.waitFor(() => client.on(topic).length > 0, 10_000)
    return client.on(topic)[0]?.json as { ok: boolean }
  }

  t.equal(board.agent.state().power_source, 'ina219', 'the board reads the (simulated) INA219')
  await client.waitFor(() => states().some((s) => s.power_w > 0 && s.power_unknown === undefined), 5000)
  t.ok((await invoke()).ok, 'echo answers with the sensor working')

  bus.fail()
  await client.waitFor(() => states().some((s) => s.power_unknown === true), 10_000)
  const failing = states().find((s) => s.power_unknown === true)
  t.match(failing, { power_source: 'ina219', power_unknown: true }, 'the gossip marks the power unknown')
  for (let i = 0; i < 3; i++) t.ok((await invoke()).ok, `echo still answers while every read fails (${i + 1})`)

  // The leader does not trust the stale reading: its view models the board's power from its
  // profile, and the cluster page and /metrics show no figure for the board.
  const rec = (): ReturnType<typeof gw.leader.cluster.get> => gw.leader.cluster.get('b1')
  const view = (): ReturnType<typeof gw.leader.cluster.view>['boards'][number] | undefined => gw.leader.cluster.view().boards.find((b) => b.id === 'b1')
  await until(() => view()?.powerUnknown === true, 5000, 'the leader to see the power unknown')
  const running = Object.values(rec()?.state?.functions ?? {}).reduce((n, f) => n + f.running, 0)
  t.equal(view()?.powerW, busyPowerW(rec()!.profile, running), 'the leader counts the profile\'s modelled power')
  const statusUrl = gw.statusUrl ?? ''
  const cluster = async (): Promise<ClusterSnapshot> => await (await fetch(`${statusUrl}api/cluster`)).json() as ClusterSnapshot
  const metrics = async (): Promise<string> => await (await fetch(`${statusUrl}metrics`)).text()
  const b1 = (await cluster()).boards.find((b) => b.id === 'b1')
  t.match(b1, { power_w: null, power_unknown: true }, 'the cluster page shows the power unknown, not the stale reading')
  // The page samples the leader's view every second: poll until a sample after the fault.
  const stale = /wisp_board_power_watts\{board="b1"/
  let text = await metrics()
  for (const deadline = Date.now() + 5000; stale.test(text) && Date.now() < deadline;) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    text = await metrics()
  }
  t.notMatch(text, stale, '/metrics drops the board\'s power series')
  t.match(text, /wisp_cluster_power_watts \d/, 'the cluster total stays (with the modelled figure)')
  const seen = states().length
  await client.waitFor(() => states().length >= seen + 3, 5000)
  t.ok(gw.leader.cluster.routable('b1'), 'the board keeps gossiping: the leader still routes to it')

  bus.fail(false)
  const after = states().length
  await client.waitFor(() => states().slice(after).some((s) => s.power_unknown === undefined && s.power_w > 0), 10_000)
  t.pass('a successful read makes the power known again')
  await until(() => view()?.powerUnknown === undefined && (view()?.powerW ?? 0) > 0, 5000, 'the leader to read the measured power again')
  t.equal(view()?.powerW, rec()?.state?.power_w, 'the leader reads the measured power again')
  t.ok((await invoke()).ok, 'and echo answers')
})
