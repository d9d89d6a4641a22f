import t from 'tap'
import { spawn } from 'node:child_process'
import { testCluster } from '../helpers/cluster.js'
import { clientsMissing } from '../helpers/mosquitto.js'

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
