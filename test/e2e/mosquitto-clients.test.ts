import t from 'tap'
import { spawn } from 'node:child_process'
import { testCluster } from '../helpers/cluster.js'
import { clientsMissing } from '../helpers/mosquitto.js'
import { until } from '../helpers/leader-rig.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import type { Completion } from '../../runtime/leader/leader.js'

const missing = clientsMissing()

/** Runs a real mosquitto client binary, bounded in time; resolves with its stdout. */
const run = async (cmd: string, args: string[], timeoutMs = 15_000): Promise<{ code: number | null, out: string }> =>
  await new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    p.stdout.on('data', (d: Buffer) => { out += d.toString() })
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs)
    p.on('exit', (code) => { clearTimeout(timer); resolve({ code, out }) })
  })

t.test('the README example: mosquitto_sub waits, mosquitto_pub invokes', { skip: missing }, async (t) => {
  const c = await testCluster({ boards: 2 })
  t.teardown(c.close)
  const p = String(c.port)
  const sub = run('mosquitto_sub', ['-h', '127.0.0.1', '-p', p, '-t', 'wisp/result/me/hello/r1', '-C', '1', '-W', '15'])
  await new Promise((resolve) => setTimeout(resolve, 500))
  // The broker runs in this process: the clients must run asynchronously, never spawnSync.
  const pub = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', p, '-t', 'wisp/invoke/hello/me/r1', '-m', '{"name":"edge"}'])
  t.equal(pub.code, 0, 'mosquitto_pub exits 0')
  const r = await sub
  t.equal(r.code, 0, 'mosquitto_sub got its one message')
  const reply = JSON.parse(r.out)
  t.equal(reply.ok, true)
  t.equal(reply.result.greeting, 'hello, edge')
  t.equal(reply.receipt.request_id, 'r1')
})

t.test('errors reach mosquitto clients too', { skip: missing }, async (t) => {
  const c = await testCluster({ boards: 1 })
  t.teardown(c.close)
  const p = String(c.port)
  const sub = run('mosquitto_sub', ['-h', '127.0.0.1', '-p', p, '-t', 'wisp/result/me/nope/r2', '-C', '1', '-W', '15'])
  await new Promise((resolve) => setTimeout(resolve, 500))
  await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', p, '-t', 'wisp/invoke/nope/me/r2', '-m', '{}'])
  const reply = JSON.parse((await sub).out)
  t.same(reply.error.code, 'WISP_UNKNOWN_FUNCTION')
})

t.test('mosquitto_pub to a trigger topic runs the bound function; a failure reaches mosquitto_sub on wisp/dead/<fn>', { skip: missing }, async (t) => {
  const c = await testCluster({ boards: 2 })
  t.teardown(c.close)
  const p = String(c.port)
  const g = c.cluster.gateway
  const done: Completion[] = []
  g.leader.onCompletion((x) => done.push(x))
  const code = 'export async function handler (e) { if (e.payload.c > 50) throw new Error(`too hot in ${e.topic}`); return { seen: e.payload.c } }'
  const m = buildManifest('thermo', code, { triggers: { on: ['sensors/+/temp'] } })
  await publishDeployment(g.transport, g.topics, m, code)
  await until(() => g.registry.get('thermo') !== undefined, 5000, 'the deploy')
  await g.triggers.settled()
  const subscribed = new Promise<void>((resolve) => {
    g.broker?.aedes.on('subscribe', (subs) => { if (subs.some((s) => s.topic === 'wisp/dead/thermo')) resolve() })
  })
  const sub = run('mosquitto_sub', ['-h', '127.0.0.1', '-p', p, '-t', 'wisp/dead/thermo', '-C', '1', '-W', '15'])
  await subscribed
  t.equal((await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', p, '-q', '1', '-t', 'sensors/kitchen/temp', '-m', '{"c":21.5}'])).code, 0)
  await until(() => done.some((x) => x.fn === 'thermo'), 15_000, 'the triggered run')
  const ok = done.find((x) => x.fn === 'thermo')?.reply
  t.same(ok?.ok === true ? ok.result : ok, { seen: 21.5 }, 'the function ran on the reading')
  await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', p, '-q', '1', '-t', 'sensors/oven/temp', '-m', '{"c":220}'])
  const r = await sub
  t.equal(r.code, 0, 'mosquitto_sub got the dead letter')
  const letter = JSON.parse(r.out)
  t.equal(letter.error.code, 'WISP_FUNCTION_ERROR')
  t.match(letter.error.message, /too hot in sensors\/oven\/temp/)
  t.equal(letter.topic, 'sensors/oven/temp')
  t.equal(done.filter((x) => x.fn === 'thermo').length, 2, 'each reading ran once')
})
