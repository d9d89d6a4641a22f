import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startBroker } from '../../runtime/leader/broker.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { testCluster } from '../helpers/cluster.js'
import { TestClient } from '../helpers/mqtt.js'
import { until } from '../helpers/leader-rig.js'
import { waitForOutput, wispArgs } from '../helpers/wisp-cli.js'

/** `wisp <args>` as a user runs it (bin/wisp.js and dist/), bounded in time. */
const wisp = async (args: string[]): Promise<{ code: number | null, out: string, err: string }> =>
  await new Promise((resolve) => {
    const p = spawn(process.execPath, wispArgs(args), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WISP_LOG: 'warn' } })
    let out = ''
    let err = ''
    p.stdout.on('data', (d: Buffer) => { out += d.toString() })
    p.stderr.on('data', (d: Buffer) => { err += d.toString() })
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000)
    p.on('exit', (code) => { clearTimeout(timer); resolve({ code, out, err }) })
  })

const dir = mkdtempSync(join(tmpdir(), 'wisp-lifecycle-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const file = (name: string, code: string): string => { const f = join(dir, name); writeFileSync(f, code); return f }
const v1 = file('v1.js', 'export async function handler () { console.log("hello from v1"); return { v: 1 } }\n')
const v2 = file('v2.js', 'export async function handler () { console.log("hello from v2"); return { v: 2 } }\n')
const slow = file('slow.js', 'export async function handler () { await new Promise((r) => setTimeout(r, 1500)); return "done" }\n')
const chatty = file('chatty.js', 'export async function handler (e) { for (let i = 0; i < 500; i++) console.log("line " + i + " " + "x".repeat(5000)); console.log("marker " + e.n); return 1 }\n')

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
  t.match(ls.err, /WISP_NO_GATEWAY/)
})

t.test('a function\'s lifecycle through the CLI against a real gateway and board', async (t) => {
  const empty = join(dir, 'none')
  mkdirSync(empty)
  const c = await testCluster({ boards: 1, functionsDir: empty })
  t.teardown(c.close)
  const gw = c.cluster.gateway
  const broker = ['--broker', c.url]
  const client = await TestClient.connect(c.url)
  t.teardown(() => client.close())
  await client.sub('wisp/result/t/#')
  let n = 0
  const invoke = async (fn: string, event: unknown = {}): Promise<{ ok: boolean, result?: unknown, error?: { code: string } }> => {
    const req = `r${++n}`
    await client.pub(`wisp/invoke/${fn}/t/${req}`, JSON.stringify(event))
    await client.waitFor(() => client.on(`wisp/result/t/${fn}/${req}`).length > 0, 15_000)
    return client.on(`wisp/result/t/${fn}/${req}`)[0]?.json as { ok: boolean }
  }

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

  // logs: what ran is kept; --follow shows a new line within a second of the reply.
  const logs = await wisp(['logs', 'f', ...broker])
  t.match(logs.out, /b1 r\d+ hello from v2\n/)
  t.match(logs.out, /hello from v1\n/)
  const follow: ChildProcess = spawn(process.execPath, wispArgs(['logs', 'f', '--follow', ...broker]), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WISP_LOG: 'warn' } })
  t.teardown(() => { if (follow.exitCode === null) follow.kill('SIGKILL') })
  await waitForOutput(follow, /hello from v1\n/, 15_000)
  t.equal((await wisp(['deploy', 'f', chatty, ...broker])).code, 0)
  const r = await invoke('f', { n: 42 })
  t.equal(r.ok, true)
  const replied = Date.now()
  const got = await waitForOutput(follow, /line 19 /, 1000)
  t.ok(Date.now() - replied < 1000, 'a log line within a second')
  await new Promise((resolve) => setTimeout(resolve, 300)) // any later lines of this invocation would have arrived by now
  const lines = got.split('\n').filter((l) => / line \d+ /.test(l))
  t.equal(lines.length, 20, 'a chatty function is bounded: 20 lines per invocation')
  t.ok(lines.every((l) => l.length < 700), 'each line cut')
  follow.kill('SIGINT')

  // rm drains: the running invocation finishes, a new one is refused, then the function is gone.
  const running = invoke('g')
  await until(() => gw.leader.inflightOf('g') > 0, 5000, 'g to be in flight')
  const rm = wisp(['rm', 'g', ...broker])
  await until(() => gw.registry.isDraining('g'), 10_000, 'g to drain')
  const refused = await invoke('g')
  t.equal(refused.error?.code, 'WISP_UNKNOWN_FUNCTION', 'new invocations are refused while draining')
  const finished = await running
  t.equal(finished.ok, true, 'the running one finished')
  t.equal(finished.result, 'done')
  const rmr = await rm
  t.equal(rmr.code, 0, rmr.err)
  t.match(rmr.out, /removed g/)
  t.equal(gw.registry.get('g'), undefined)
  t.equal(gw.registry.history('g'), undefined)
  const again = await wisp(['rm', 'g', ...broker])
  t.equal(again.code, 1)
  t.match(again.err, /WISP_UNKNOWN_FUNCTION: no function "g" is deployed/)
})
