import t from 'tap'
import { capRig, until } from '../helpers/cap-rig.js'
import { TestClient } from '../helpers/mqtt.js'

// A sensor message on a trigger topic runs a function on a real board; the function publishes
// to an actuator topic (checked and published by the gateway) and counts its runs in its KV,
// which lives in the gateway's LevelDB and so survives a gateway restart.
const FAN = `
export async function handler (event, context) {
  if (event.read === true) return await context.kv.get('count')
  await context.publish('actuators/fan', { on: event.payload.c > 25, from: event.topic }, { qos: 1 })
  const n = ((await context.kv.get('count')) ?? 0) + 1
  await context.kv.put('count', n)
  return n
}`

t.test('sensor → handler → context.publish seen by a subscriber; the KV count survives a gateway restart', async (t) => {
  const rig = await capRig()
  t.teardown(rig.close)
  await rig.deploy('fan', FAN, { triggers: { on: ['sensors/+/temp'] }, publishes: ['actuators/#'] })
  await until('trigger subscribed', () => rig.gw().triggers.filters.includes('sensors/+/temp'), 5000)
  // A separate subscriber and a separate sensor, as on a real network.
  const fanSide = await TestClient.connect(rig.gw().url, { reconnectPeriod: 200 })
  t.teardown(() => fanSide.close())
  await fanSide.sub('actuators/#')
  const sensor = await TestClient.connect(rig.gw().url, { reconnectPeriod: 200 })
  t.teardown(() => sensor.close())

  await sensor.pub('sensors/kitchen/temp', JSON.stringify({ c: 30 }))
  await fanSide.waitFor((r) => r.length >= 1, 15_000)
  // KV has no transactions: two runs at once would both read the same count. One at a time here.
  await until('first run finished', () => rig.gw().leader.inflightCount() === 0, 10_000)
  await sensor.pub('sensors/kitchen/temp', JSON.stringify({ c: 20 }))
  await fanSide.waitFor((r) => r.length >= 2, 15_000)
  t.same(fanSide.received.map((r) => [r.topic, r.json]), [
    ['actuators/fan', { on: true, from: 'sensors/kitchen/temp' }],
    ['actuators/fan', { on: false, from: 'sensors/kitchen/temp' }]
  ])
  // The count is written after the publish: wait for both runs to have finished.
  await until('runs finished', () => rig.gw().leader.inflightCount() === 0, 10_000)
  t.match(await rig.call('fan', { read: true }), { ok: true, result: 2 })

  await rig.restart()
  await until('trigger subscribed again', () => rig.gw().triggers.filters.includes('sensors/+/temp'), 10_000)
  t.match(await rig.call('fan', { read: true }), { ok: true, result: 2 }, 'the count survived the restart')
  await until('subscriber back', () => fanSide.client.connected && sensor.client.connected, 10_000)
  await fanSide.sub('actuators/#')
  await sensor.pub('sensors/hall/temp', JSON.stringify({ c: 40 }))
  await fanSide.waitFor((r) => r.length >= 3, 15_000)
  t.same(fanSide.received[2]?.json, { on: true, from: 'sensors/hall/temp' })
  await until('run finished', () => rig.gw().leader.inflightCount() === 0, 10_000)
  t.match(await rig.call('fan', { read: true }), { ok: true, result: 3 })
})

// A handler's publish is a message like any other: a function bound to its topic runs. The embedded
// broker's hook never sees the gateway's own publishes, so the gateway hands them to the triggers.
const RELAY = `
export async function handler (event, context) {
  await context.publish('actuators/fan', { on: true }, { qos: 1 })
  return 'relayed'
}`
const COUNTER = `
export async function handler (event, context) {
  if (event.read === true) return await context.kv.get('seen')
  await context.kv.put('seen', event.topic)
  return event.topic
}`

t.test('a context.publish on a topic another function is bound to runs that function', async (t) => {
  const rig = await capRig()
  t.teardown(rig.close)
  await rig.deploy('relay', RELAY, { publishes: ['actuators/#'] })
  await rig.deploy('watcher', COUNTER, { triggers: { on: ['actuators/+'] } })
  await until('trigger subscribed', () => rig.gw().triggers.filters.includes('actuators/+'), 5000)
  t.match(await rig.call('relay', {}), { ok: true, result: 'relayed' })
  // The bound function's invocation is accepted before the publish is acknowledged to the handler.
  await until('the bound function ran', () => rig.gw().leader.inflightCount() === 0, 10_000)
  t.match(await rig.call('watcher', { read: true }), { ok: true, result: 'actuators/fan' })
})
