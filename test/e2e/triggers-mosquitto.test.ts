import t from 'tap'
import { spawn } from 'node:child_process'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import type { Completion } from '../../runtime/leader/leader.js'
import { clientsMissing, mosquittoMissing } from '../helpers/mosquitto.js'
import { ECHO, until } from '../helpers/leader-rig.js'
import { gatewayOnMosquitto } from '../helpers/mosquitto-gateway.js'

const skip = mosquittoMissing() || clientsMissing()

const pub = async (port: number, topic: string, msg: string): Promise<number | null> => await new Promise((resolve) => {
  const p = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-t', topic, '-m', msg])
  p.on('exit', (code) => resolve(code))
})

t.test('with Mosquitto as the broker (MQTT 5), overlapping trigger filters still run each function once per message', { skip }, async (t) => {
  const { gw, port } = await gatewayOnMosquitto(t)
  const done: Completion[] = []
  gw.leader.onCompletion((c) => done.push(c))
  await publishDeployment(gw.transport, gw.topics, buildManifest('wide', ECHO, { triggers: { on: ['sensors/#', 'sensors/+/temp'] } }), ECHO)
  await publishDeployment(gw.transport, gw.topics, buildManifest('narrow', ECHO, { triggers: { on: ['sensors/+/temp'] } }), ECHO)
  await until(() => gw.registry.get('wide') !== undefined && gw.registry.get('narrow') !== undefined, 5000, 'the deploys')
  await gw.triggers.settled()
  const ran = (fn: string, c: number): number => done.filter((x) => x.fn === fn && x.reply.ok && (x.reply.result as { payload: { c: number } }).payload.c === c).length

  t.equal(await pub(port, 'sensors/kitchen/temp', '{"c":1}'), 0)
  t.equal(await pub(port, 'sensors/kitchen/temp', '{"c":2}'), 0) // the marker: arrives after any duplicate of the first
  await until(() => ran('wide', 2) === 1 && ran('narrow', 2) === 1, 15_000, 'the marker to run both functions')
  t.equal(ran('wide', 1), 1, 'two matching filters of one function: one run')
  t.equal(ran('narrow', 1), 1)
})
