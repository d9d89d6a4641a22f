import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { BoardConfigSchema } from '../../boards/schema.js'
import { validateConfig } from '../../boards/index.js'
import { startBoard } from '../../runtime/board/main.js'
import { startGateway } from '../../runtime/gateway/main.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { until } from '../helpers/leader-rig.js'

// A board whose start fails part-way (here its code store is locked by another process's
// LevelDB, after its MQTT session is up) must close what it had opened: the broker sees it go,
// and nothing keeps this process alive (tap would wait for its timeout otherwise).
t.test('a board that fails to start closes its broker connection and what else it had opened', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-start-fail-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const gw = await startGateway({ dataDir: join(dir, 'gw'), mqttPort: 0, httpPort: null, log: silentLogger })
  t.teardown(gw.close)
  const aedes = gw.broker?.aedes
  if (aedes === undefined) throw new Error('the gateway runs its embedded broker')
  const data = join(dir, 'b1')
  const lock = new Level(join(data, 'code'))
  await lock.open()
  t.teardown(() => lock.close())
  const config = validateConfig(BoardConfigSchema, {
    id: 'b1', profile: 'raspberry-pi-4b', broker: gw.url, data_dir: data, http_port: 0, http_host: '127.0.0.1', sim: { emulate_speed: false, ina219: true }
  }, 'test board')
  let connected = 0
  aedes.on('client', (c) => { if (c.id.startsWith('wisp-b1')) connected++ })
  await t.rejects(startBoard(config, silentLogger, { sim: true, onPowerOff: () => {} }), /lock|LEVEL_DATABASE_NOT_OPEN|open/i)
  t.equal(connected, 1, 'it had connected to the broker before the failing step')
  await until(() => aedes.connectedClients === 0, 5000, 'the board to disconnect')
  t.equal(aedes.connectedClients, 0, 'no connection left behind')
})
