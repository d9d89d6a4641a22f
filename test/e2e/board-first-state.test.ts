import t from 'tap'
import { startBroker } from '../../runtime/leader/broker.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { freePort } from '../helpers/ports.js'
import { TestClient } from '../helpers/mqtt.js'
import { inProcessBoard } from '../helpers/board.js'

t.test('a board announces itself only with a measured power: its first state is never 0 W while on', async (t) => {
  const broker = await startBroker({ port: await freePort(), host: '127.0.0.1', log: silentLogger })
  t.teardown(() => broker.close())
  const watcher = await TestClient.connect(broker.url)
  t.teardown(() => watcher.close())
  await watcher.sub('wisp/boards/fs1/state')
  const board = await inProcessBoard({ id: 'fs1', broker: broker.url })
  t.teardown(() => board.cleanup())
  const [first] = await watcher.waitFor((r) => r.length > 0, 10_000)
  const s = first?.json as { status: string, power_w: number, power_source: string }
  t.equal(s.status, 'online')
  t.equal(s.power_source, 'ina219')
  t.ok(s.power_w > 0, `first state carries a measured power (${s.power_w} W)`)
})
