import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startBoard, type RunningBoard } from '../../runtime/board/main.js'
import { BoardConfigSchema } from '../../boards/schema.js'
import { validateConfig } from '../../boards/index.js'
import { createLogger } from '../../runtime/shared/log.js'
import type { Clock } from '../../runtime/shared/clock.js'
import type { I2cBus } from '../../node-firmware-bridge/index.js'
import { startGateway, type Gateway } from '../../runtime/gateway/main.js'
import { silentLogger } from '../../runtime/shared/log.js'
import type { BoardConfig } from '../../boards/schema.js'

/** A real agent in this process (its isolates in their supervised host), on a simulated board; `clock` times the agent. */
export const inProcessBoard = async (o: { id: string, broker: string, profile?: string, extra?: Record<string, unknown>, clock?: Clock, openBus?: (bus: number) => Promise<I2cBus> }): Promise<RunningBoard & { cleanup: () => Promise<void> }> => {
  const dir = mkdtempSync(join(tmpdir(), `wisp-${o.id}-`))
  const config = validateConfig(BoardConfigSchema, {
    id: o.id, profile: o.profile ?? 'raspberry-pi-4b', broker: o.broker, data_dir: dir, http_port: 0, http_host: '127.0.0.1',
    sim: { emulate_speed: false, ina219: true }, ...o.extra
  }, 'test board')
  const board = await startBoard(config, createLogger(o.id, 'warn'), { sim: true, onPowerOff: () => {}, clock: o.clock, openBus: o.openBus })
  return { ...board, cleanup: async () => { await board.stop(); rmSync(dir, { recursive: true, force: true }) } }
}

/** A gateway with its embedded broker in a scratch folder, and the config of board `b1` beside it (data under `data`), for tests that start the board themselves. */
export const gatewayAndBoardConfig = async (t: { teardown: (f: () => unknown) => void }, prefix: string): Promise<{ gw: Gateway, aedes: NonNullable<Gateway['broker']>['aedes'], data: string, config: BoardConfig }> => {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const gw = await startGateway({ dataDir: join(dir, 'gw'), mqttPort: 0, httpPort: null, log: silentLogger })
  t.teardown(gw.close)
  const aedes = gw.broker?.aedes
  if (aedes === undefined) throw new Error('the gateway runs its embedded broker')
  const data = join(dir, 'b1')
  const config = validateConfig(BoardConfigSchema, {
    id: 'b1', profile: 'raspberry-pi-4b', broker: gw.url, data_dir: data, http_port: 0, http_host: '127.0.0.1', sim: { emulate_speed: false, ina219: true }
  }, 'test board')
  return { gw, aedes, data, config }
}
