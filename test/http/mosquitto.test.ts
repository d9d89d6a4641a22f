import t from 'tap'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { mosquittoMissing } from '../helpers/mosquitto.js'
import { ECHO, until } from '../helpers/leader-rig.js'
import { postJson } from '../helpers/http.js'
import { gatewayOnMosquitto } from '../helpers/mosquitto-gateway.js'

t.test('with Mosquitto as the broker, HTTP invokes get their replies over MQTT from the same result topics', { skip: mosquittoMissing() }, async (t) => {
  const { gw } = await gatewayOnMosquitto(t, { invokePort: 0 })
  await publishDeployment(gw.transport, gw.topics, buildManifest('echo', ECHO), ECHO)
  await until(() => gw.registry.get('echo') !== undefined, 5000, 'the deploy')
  const r = await postJson(`${gw.invokeUrl as string}function/echo`, { via: 'mosquitto' }, { 'x-wisp-request-id': 'm-1' })
  t.equal(r.status, 200)
  t.same(r.json, { via: 'mosquitto' })
  t.equal(r.headers['x-wisp-board'], 'm1')
  t.equal(r.headers['x-wisp-request-id'], 'm-1')
})
