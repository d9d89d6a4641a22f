import t from 'tap'
import mqtt from 'mqtt'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway, type Gateway } from '../../runtime/gateway/main.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { freePort } from '../helpers/ports.js'

t.test('a broker restart keeps persistent sessions: subscriptions survive and QoS 1 messages wait for the client', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-sessions-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const port = await freePort()
  const open = async (): Promise<Gateway> => await startGateway({ dataDir: dir, mqttPort: port, mqttHost: '127.0.0.1', httpPort: null, log: silentLogger })
  let gw = await open()
  t.teardown(async () => { await gw.close() })
  const url = `mqtt://127.0.0.1:${port}`
  const opts = { clientId: 'sess-keeper', clean: false, reconnectPeriod: 0 }

  const first = await mqtt.connectAsync(url, opts)
  await first.subscribeAsync('wisp/result/keeper/#', { qos: 1 })
  await first.endAsync()
  // A clean session of another client must leave no trace.
  const passer = await mqtt.connectAsync(url, { clientId: 'sess-passer', clean: true, reconnectPeriod: 0 })
  await passer.subscribeAsync('wisp/result/passer/#', { qos: 1 })
  await passer.endAsync()

  await gw.close()
  gw = await open()
  await gw.transport.publish('wisp/result/keeper/f/r1', '{"ok":true,"result":1}', { qos: 1 })

  const again = await mqtt.connectAsync(url, { ...opts, manualConnect: false })
  t.teardown(() => again.endAsync())
  const got = await new Promise<{ topic: string, payload: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the queued message never came')), 10_000)
    again.on('message', (topic, payload) => { clearTimeout(timer); resolve({ topic, payload: payload.toString() }) })
  })
  t.equal(got.topic, 'wisp/result/keeper/f/r1', 'the message published while it was away, across the restart')
  t.equal(got.payload, '{"ok":true,"result":1}')
})
