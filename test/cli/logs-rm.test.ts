import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { cliCluster, fnFiles } from '../helpers/cli-rig.js'
import { TestClient } from '../helpers/mqtt.js'
import { until } from '../helpers/leader-rig.js'
import { runWisp as wisp, waitForOutput, wispArgs } from '../helpers/wisp-cli.js'

const { file, empty } = fnFiles('logs-rm', (f) => t.teardown(f))
const hello = file('hello.js', 'export async function handler (e) { console.log("hello " + e.n); if (e.fail) throw new Error("boom " + e.n); return 1 }\n')
const chatty = file('chatty.js', 'export async function handler (e) { for (let i = 0; i < 500; i++) console.log("line " + i + " " + "x".repeat(5000)); return 1 }\n')
// Runs long enough that `wisp rm` (a CLI process, slow to start on a loaded machine) arrives while it runs.
const slow = file('slow.js', 'export async function handler () { await new Promise((r) => setTimeout(r, 6000)); return "done" }\n')

const { c, broker, invoke } = await cliCluster((f) => t.teardown(f), { boards: 1, functionsDir: empty })
const gw = c.cluster.gateway

t.test('wisp logs: what ran and what failed is kept; --follow shows a new line within a second; a chatty function is bounded', async (t) => {
  t.equal((await wisp(['deploy', 'f', hello, ...broker])).code, 0)
  t.equal((await invoke('f', { n: 1 })).ok, true)
  t.equal((await invoke('f', { n: 2, fail: true })).ok, false)
  const logs = await wisp(['logs', 'f', ...broker])
  t.equal(logs.code, 0, logs.err)
  t.match(logs.out, /^\S+Z b1 r1 hello 1\n/)
  t.match(logs.out, /b1 r2 hello 2\n.*b1 r2 ERROR WISP_FUNCTION_ERROR: .*boom 2/)
  t.equal((await wisp(['logs', 'f', '--since', '1ms', ...broker])).out, '', '--since leaves out older lines')
  t.match((await wisp(['logs', 'nosuch', ...broker])).err, /WISP_UNKNOWN_FUNCTION/)
  t.match((await wisp(['logs', 'f', '--since', 'soon', ...broker])).err, /WISP_BAD_CONFIG: --since must be a number and a unit/)

  const follow: ChildProcess = spawn(process.execPath, wispArgs(['logs', 'f', '--follow', ...broker]), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WISP_LOG: 'warn' } })
  t.teardown(() => { if (follow.exitCode === null) follow.kill('SIGKILL') })
  await waitForOutput(follow, /boom 2/, 15_000)
  // Listening before the invoke: the line may arrive before the reply does.
  const line = waitForOutput(follow, /hello 3\n/, 15_000).then(() => Date.now())
  t.equal((await invoke('f', { n: 3 })).ok, true)
  const replied = Date.now()
  const arrived = await line
  t.ok(arrived - replied < 1000, `a log line within a second of the reply (${arrived - replied} ms)`)

  t.equal((await wisp(['deploy', 'f', chatty, ...broker])).code, 0)
  t.equal((await invoke('f')).ok, true)
  await until(() => gw.admin.logs.read('f').some((l) => l.text.includes('not sent')), 5000, 'the chatty lines')
  const lines = gw.admin.logs.read('f').filter((l) => l.text.startsWith('line '))
  t.equal(lines.length, 20, '20 lines per invocation reach the gateway')
  t.ok(lines.every((l) => l.text.length <= 512), 'each cut to 512 characters')
  t.match(gw.admin.logs.read('f').at(-1)?.text, /^\[wisp\] \d+ more log lines not sent$/)
  follow.kill('SIGINT')
})

t.test('wisp rm drains: the running invocation finishes, new ones are refused, then the function is gone', async (t) => {
  t.equal((await wisp(['deploy', 'g', slow, '--timeout-ms', '12000', ...broker])).code, 0)
  const running = invoke('g')
  await until(() => gw.leader.inflightOf('g') > 0, 5000, 'g to be in flight')
  const rm = wisp(['rm', 'g', ...broker])
  await until(() => gw.registry.isDraining('g'), 10_000, 'g to drain')
  const refused = await invoke('g')
  t.equal(refused.error?.code, 'WISP_UNKNOWN_FUNCTION', 'new invocations are refused while draining')
  t.equal(gw.registry.list().some((m) => m.name === 'g'), true, 'still deployed while one runs')
  const finished = await running
  t.equal(finished.ok, true, 'the running one finished')
  t.equal(finished.result, 'done')
  const r = await rm
  t.equal(r.code, 0, r.err)
  t.match(r.out, /removed g/)
  t.equal(gw.registry.get('g'), undefined)
  t.equal(gw.registry.history('g'), undefined)
  const watcher = await TestClient.connect(c.url)
  t.teardown(() => watcher.close())
  await watcher.sub('wisp/functions/#')
  await watcher.sub('wisp/leader/state')
  await watcher.waitFor(() => watcher.on('wisp/leader/state').length > 0, 5000)
  t.equal(watcher.on('wisp/functions/g').length, 0, 'its retained manifest is cleared')
  const again = await wisp(['rm', 'g', ...broker])
  t.equal(again.code, 1)
  t.match(again.err, /WISP_UNKNOWN_FUNCTION: no function "g" is deployed/)
})
