import t from 'tap'
import { CodeStore, type StringKv } from '../../runtime/agent/code-store.js'
import { startBroker } from '../../runtime/leader/broker.js'
import { MAX_CODE_BYTES } from '../../runtime/protocol/messages.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { sha256 } from '../../runtime/protocol/manifest.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { MqttTransport } from '../../runtime/transport/mqtt-transport.js'

const broker = await startBroker({ port: 0, host: '127.0.0.1', log: silentLogger })
t.teardown(broker.close)
const topics = new Topics()
const publisher = await MqttTransport.open({ url: broker.url })
t.teardown(() => publisher.close())
const board = await MqttTransport.open({ url: broker.url })
t.teardown(() => board.close())

const kv = (): StringKv & { data: Map<string, string> } => {
  const data = new Map<string, string>()
  return { data, get: async (k) => data.get(k), put: async (k, v) => { data.set(k, v) } }
}

t.test('code of the manifest\'s size and hash is fetched and cached', async (t) => {
  const code = 'export async function handler () { return 1 }'
  await publisher.publish(topics.code(sha256(code)), code, { retain: true, qos: 1 })
  const db = kv()
  const store = new CodeStore(db, board, topics, 2000)
  t.equal(await store.get(sha256(code), Buffer.byteLength(code)), code)
  t.equal(db.data.get(sha256(code)), code)
})

t.test('code whose size is not the manifest\'s, or past MAX_CODE_BYTES, is never taken', async (t) => {
  const code = 'export async function handler () { return 2 }'
  await publisher.publish(topics.code(sha256(code)), code, { retain: true, qos: 1 })
  const store = new CodeStore(kv(), board, topics, 300)
  await t.rejects(store.get(sha256(code), code.length + 1), { code: 'WISP_BAD_CODE' })
  const huge = `// ${'x'.repeat(MAX_CODE_BYTES)}`
  await publisher.publish(topics.code(sha256(huge)), huge, { retain: true, qos: 1 })
  await t.rejects(store.get(sha256(huge)), { code: 'WISP_BAD_CODE' }, 'even with a matching hash')
})
