import t from 'tap'
import { startBroker } from '../../runtime/leader/broker.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { AedesTransport } from '../../runtime/transport/aedes-transport.js'
import { MqttTransport } from '../../runtime/transport/mqtt-transport.js'
import { freePort } from '../helpers/ports.js'
import { mosquittoMissing, startMosquitto } from '../helpers/mosquitto.js'
import { transportContract } from './transport.contract.js'

const aedesBroker = async () => await startBroker({ port: await freePort(), host: '127.0.0.1', log: silentLogger })

transportContract(t, 'mqtt.js client on aedes', async () => {
  const b = await aedesBroker()
  const sub = await MqttTransport.open({ url: b.url })
  const pub = await MqttTransport.open({ url: b.url })
  t.equal(sub.protocolVersion, 4, 'aedes speaks 3.1.1, so the client falls back from v5')
  return { sub, pub, done: async () => { await sub.close(); await pub.close(); await b.close() } }
})

transportContract(t, 'in-process aedes', async () => {
  const b = await aedesBroker()
  const sub = new AedesTransport(b.aedes)
  const pub = await MqttTransport.open({ url: b.url })
  return { sub, pub, done: async () => { await sub.close(); await pub.close(); await b.close() } }
})

t.test('mosquitto', { skip: mosquittoMissing() }, async (t) => {
  transportContract(t, 'mqtt.js client on Mosquitto (MQTT 5)', async () => {
    const m = await startMosquitto()
    const sub = await MqttTransport.open({ url: m.url })
    const pub = await MqttTransport.open({ url: m.url })
    t.equal(sub.protocolVersion, 5)
    return { sub, pub, done: async () => { await sub.close(); await pub.close(); await m.stop() } }
  })
})

t.test('a port in use names the flag to change it', async (t) => {
  const b = await aedesBroker()
  t.teardown(b.close)
  await t.rejects(startBroker({ port: b.port, host: '127.0.0.1', log: silentLogger }), { code: 'WISP_BAD_CONFIG', message: /already in use.*--mqtt-port/ })
})

t.test('an unreachable broker is a clear WISP_BAD_CONFIG', async (t) => {
  const port = await freePort()
  await t.rejects(MqttTransport.open({ url: `mqtt://127.0.0.1:${port}`, connectTimeoutMs: 1000 }), { code: 'WISP_BAD_CONFIG', message: /cannot connect to the MQTT broker/ })
})
