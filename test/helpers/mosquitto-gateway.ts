import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway, type Gateway, type GatewayOptions } from '../../runtime/gateway/main.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { inProcessBoard } from './board.js'
import { until } from './leader-rig.js'
import { startMosquitto } from './mosquitto.js'

type Teardown = { teardown: (fn: () => unknown) => void }

/**
 * A fresh Mosquitto 2 on loopback, a gateway using it as its external broker (no page, no
 * embedded aedes) and one in-process board `m1` on it, routable; all torn down with the test.
 */
export const gatewayOnMosquitto = async (t: Teardown, extra: Partial<GatewayOptions> = {}): Promise<{ url: string, port: number, gw: Gateway }> => {
  const mosq = await startMosquitto()
  t.teardown(mosq.stop)
  const dir = mkdtempSync(join(tmpdir(), 'wisp-gw-mosq-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const gw = await startGateway({ dataDir: dir, mqttPort: 0, brokerUrl: mosq.url, httpPort: null, log: silentLogger, ...extra })
  t.teardown(gw.close)
  const board = await inProcessBoard({ id: 'm1', broker: mosq.url })
  t.teardown(board.cleanup)
  await until(() => gw.leader.cluster.routable('m1'), 15_000, 'm1 to join')
  return { url: mosq.url, port: mosq.port, gw }
}
