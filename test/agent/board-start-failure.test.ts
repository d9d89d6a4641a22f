import t from 'tap'
import { join } from 'node:path'
import { Level } from 'level'
import { startBoard } from '../../runtime/board/main.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { gatewayAndBoardConfig } from '../helpers/board.js'
import { until } from '../helpers/leader-rig.js'

// A board whose start fails part-way (here its code store is locked by another process's
// LevelDB, after its MQTT session is up) must close what it had opened: the broker sees it go,
// and nothing keeps this process alive (tap would wait for its timeout otherwise).
t.test('a board that fails to start closes its broker connection and what else it had opened', async (t) => {
  const { aedes, data, config } = await gatewayAndBoardConfig(t, 'wisp-start-fail-')
  const lock = new Level(join(data, 'code'))
  await lock.open()
  t.teardown(() => lock.close())
  let connected = 0
  aedes.on('client', (c) => { if (c.id.startsWith('wisp-b1')) connected++ })
  await t.rejects(startBoard(config, silentLogger, { sim: true, onPowerOff: () => {} }), /lock|LEVEL_DATABASE_NOT_OPEN|open/i)
  t.equal(connected, 1, 'it had connected to the broker before the failing step')
  await until(() => aedes.connectedClients === 0, 5000, 'the board to disconnect')
  t.equal(aedes.connectedClients, 0, 'no connection left behind')
})
