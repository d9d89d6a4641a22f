import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway } from '../../runtime/gateway/main.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { mosquittoMissing, startMosquitto } from '../helpers/mosquitto.js'
import { inProcessBoard } from '../helpers/board.js'
import { ECHO, until } from '../helpers/leader-rig.js'
import { postJson } from '../helpers/http.js'

t.test('with Mosquitto as the broker, HTTP invokes get their replies over MQTT from the same result topics', { skip: mosquittoMissing() }, async (t) => {
  const mosq = await startMosquitto()
  t.teardown(mosq.stop)
  const dir = mkdtempSync(join(tmpdir(), 'wisp-http-mosq-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const gw = await startGateway({ dataDir: dir, mqttPort: 0, brokerUrl: mosq.url, httpPort: null, invokePort: 0, log: silentLogger })
  t.teardown(gw.close)
  const board = await inProcessBoard({ id: 'm1', broker: mosq.url })
  t.teardown(board.cleanup)
  await until(() => gw.leader.cluster.routable('m1'), 15_000, 'm1 to join')
  await publishDeployment(gw.transport, gw.topics, buildManifest('echo', ECHO), ECHO)
  await until(() => gw.registry.get('echo') !== undefined, 5000, 'the deploy')
  const r = await postJson(`${gw.invokeUrl as string}function/echo`, { via: 'mosquitto' }, { 'x-wisp-request-id': 'm-1' })
  t.equal(r.status, 200)
  t.same(r.json, { via: 'mosquitto' })
  t.equal(r.headers['x-wisp-board'], 'm1')
  t.equal(r.headers['x-wisp-request-id'], 'm-1')
})
