import t from 'tap'
import { join } from 'node:path'
import { Level } from 'level'
import { startBoard } from '../../runtime/board/main.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { gatewayAndBoardConfig } from '../helpers/board.js'
import { until } from '../helpers/leader-rig.js'

// The normal stop closes what startBoard opened (the same list a failed start undoes): the broker
// sees the board go, its status page stops answering, its code store is unlocked, and a second
// stop is harmless.
t.test('a stopped board leaves no connection, page or lock behind', async (t) => {
  const { gw, aedes, data, config } = await gatewayAndBoardConfig(t, 'wisp-board-stop-')
  const board = await startBoard(config, silentLogger, { sim: true, onPowerOff: () => {} })
  await until(() => gw.leader.cluster.routable('b1'), 20_000, 'the board to join')
  const page = board.pageUrl
  if (page === null) throw new Error('the board serves its page')
  t.equal((await fetch(page)).status, 200, 'its page answers while it runs')

  await board.stop()
  await until(() => aedes.connectedClients === 0, 5000, 'the board to disconnect')
  t.equal(aedes.connectedClients, 0, 'no connection left behind')
  await t.rejects(fetch(page), 'its page no longer answers')
  const code = new Level(join(data, 'code'))
  await code.open()
  t.pass('its code store is unlocked')
  await code.close()
  await t.resolves(board.stop(), 'a second stop is harmless')
})
