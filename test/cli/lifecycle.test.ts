import t from 'tap'
import { startBroker } from '../../runtime/leader/broker.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { cliCluster, fnFiles } from '../helpers/cli-rig.js'
import { runWisp } from '../helpers/wisp-cli.js'

const wisp = runWisp

const { file, empty } = fnFiles('lifecycle', (f) => t.teardown(f))
const v1 = file('v1.js', 'export async function handler () { console.log("hello from v1"); return { v: 1 } }\n')
const v2 = file('v2.js', 'export async function handler () { console.log("hello from v2"); return { v: 2 } }\n')
const slow = file('slow.js', 'export async function handler () { await new Promise((r) => setTimeout(r, 1500)); return "done" }\n')

t.test('deploy against a bare broker (no gateway) fails with WISP_NO_GATEWAY', async (t) => {
  const broker = await startBroker({ port: 0, host: '127.0.0.1', log: silentLogger })
  t.teardown(() => broker.close())
  const started = Date.now()
  const r = await wisp(['deploy', 'f', v1, '--broker', broker.url, '--ack-timeout', '1s'])
  t.equal(r.code, 1, 'a non-zero exit')
  t.match(r.err, /wisp: WISP_NO_GATEWAY: no wisp gateway answered .* within 1000 ms/)
  t.ok(Date.now() - started < 15_000, 'after the timeout, not forever')
  const ls = await wisp(['ls', '--broker', broker.url, '--ack-timeout', '500ms'])
  t.equal(ls.code, 1)
  t.match(ls.err, /WISP_NO_GATEWAY/)})

t.test('bad input is refused before any connection', async (t) => {
  const none = ['--broker', 'mqtt://127.0.0.1:1']
  const name = await wisp(['rollback', 'Bad_Name', ...none])
  t.equal(name.code, 2)
  t.match(name.err, /WISP_BAD_CONFIG: function name "Bad_Name" must be 1-64 of \[a-z0-9-\]/)
  const proto = await wisp(['rollback', 'constructor', ...none])
  t.equal(proto.code, 2, 'a name every plain object already answers to')
  t.match(proto.err, /WISP_BAD_CONFIG: function name "constructor" must be 1-64 of \[a-z0-9-\], not "constructor"/)
  const ack = await wisp(['ls', '--ack-timeout', 'soon', ...none])
  t.equal(ack.code, 2)
  t.match(ack.err, /WISP_BAD_CONFIG: --ack-timeout must be a number and a unit/)
})

t.test('a function\'s lifecycle through the CLI against a real gateway and board', async (t) => {
  const { c, broker, invoke } = await cliCluster((f) => t.teardown(f), { boards: 1, functionsDir: empty })
  const gw = c.cluster.gateway

  const d1 = await wisp(['deploy', 'f', v1, ...broker])
  t.equal(d1.code, 0, d1.err)
  t.match(d1.out, /^deployed f version 1 /)
  t.ok(gw.registry.get('f') !== undefined, 'the gateway had it when deploy returned')
  const d2 = await wisp(['deploy', 'f', v2, ...broker])
  t.equal(d2.code, 0, d2.err)
  t.match(d2.out, /^deployed f version 2 /)
  t.same((await invoke('f')).result, { v: 2 }, 'invoke sees v2')

  const rb = await wisp(['rollback', 'f', ...broker])
  t.equal(rb.code, 0, rb.err)
  t.match(rb.out, /f is at version 1/)
  t.same((await invoke('f')).result, { v: 1 }, 'after rollback, invoke sees v1')
  const bad = await wisp(['rollback', 'f', '--to', '7', ...broker])
  t.equal(bad.code, 2)
  t.match(bad.err, /WISP_BAD_CONFIG: function f has no version 7; the gateway keeps versions 1, 2/)

  const desc = await wisp(['describe', 'f', '--json', ...broker])
  t.equal(desc.code, 0, desc.err)
  const dj = JSON.parse(desc.out) as { current: number, versions: Array<{ version: number, by: string | null }>, timeout_ms: number }
  t.equal(dj.current, 1)
  t.same(dj.versions.map((v) => [v.version, v.by]), [[1, 'anonymous'], [2, 'anonymous']])
  const text = await wisp(['describe', 'f', ...broker])
  t.match(text.out, /^f: version 1, \d+ bytes, 64 MB, timeout 5000 ms/)
  t.match(text.out, /\*\s+1\s+[0-9a-f]{12}/, 'the current version is starred')

  t.equal((await wisp(['deploy', 'g', slow, '--timeout-ms', '4000', '--on', 'sensors/+/temp', ...broker])).code, 0)
  const ls = await wisp(['ls', '--json', ...broker])
  t.equal(ls.code, 0, ls.err)
  const fns = JSON.parse(ls.out) as Array<{ name: string, version: number, size: number, triggers: { on: string[] } | null, stats: { invocations: number, p50_ms: number | null, energy_mj_per_invocation: number | null } }>
  t.same(fns.map((f) => [f.name, f.version]), [['f', 1], ['g', 1]], 'ls shows both functions')
  t.equal(fns[0]?.stats.invocations, 2)
  t.ok((fns[0]?.stats.p50_ms ?? 0) > 0, 'p50')
  t.ok((fns[0]?.stats.energy_mj_per_invocation ?? 0) > 0, 'energy per invocation')
  t.same(fns[1]?.triggers?.on, ['sensors/+/temp'])
  const table = await wisp(['ls', ...broker])
  t.match(table.out, /^name\s+version\s+size/)
  t.match(table.out, /\ng\s+1\s+\d+ B\s+64 MB\s+4000 ms\s+on sensors\/\+\/temp\s+0/)
})
