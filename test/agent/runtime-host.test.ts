import t from 'tap'
import { fork } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { FromHost } from '../../runtime/agent/host-protocol.js'
import { unbatch, type Batch } from '../../runtime/agent/ipc-batch.js'
import { HOST_SILENCE_MS, RuntimePool } from '../../runtime/agent/runtime-pool.js'
import { compiledFile } from '../../runtime/shared/compiled.js'
import { STOP_BOUND_MS } from '../../runtime/agent/watchdog.js'
import { until } from './fixtures/cpu.js'
import { ECHO, manifest, request, stillServes } from './fixtures/pool-helpers.js'

const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true } catch { return false } }

// The agent's executor: isolates in a supervised child process.
const pool = new RuntimePool({ budgetMb: 256, board: 'b1' })
t.teardown(() => pool.close())

t.test('invokes through the host process', async (tt) => {
  const m = manifest('host-echo', ECHO)
  const o = await pool.invoke(request(m, ECHO, { x: 1 }))
  tt.ok(o.ok)
  if (o.ok) tt.same(o.result, { echo: { x: 1 }, fn: 'host-echo' })
  const again = await pool.invoke(request(m, ECHO, { x: 2 }))
  tt.ok(again.ok && !again.cold, 'code is sent once; the runtime stays warm')
  await new Promise((r) => setTimeout(r, 50))
  tt.same(pool.stats()['host-echo'], { runtimes: 1, running: 0 })
  tt.ok(await until(() => pool.memMb() > 0, 3000), 'the host reports its heap')
  await tt.rejects(pool.validate(manifest('host-bad', 'export const x = 1'), 'export const x = 1'), { code: 'WISP_BAD_CODE' })
})

t.test('an allocation that aborts V8 ends only the host; the pool serves on', async (tt) => {
  const code = 'export async function handler () { return new Array(2 ** 28).fill(0).length }\n'
  const warmCode = ECHO + '// warm\n'
  await pool.setWarm(manifest('host-warm', warmCode), warmCode, 1)
  // Give the standby host time to start (about a second on a loaded two-core machine).
  await new Promise((r) => setTimeout(r, 2500))
  const pid = pool.hostPid
  const o = await pool.invoke(request(manifest('host-bomb', code, { memory_mb: 64, timeout_ms: 10_000 }), code))
  tt.notOk(o.ok)
  if (!o.ok) tt.equal(o.error.code, 'WISP_MEMORY_LIMIT')
  tt.not(pool.hostPid, pid, 'a new host took over')
  const s = await stillServes(pool, 'host-bystander')
  tt.ok(s.outcome.ok, 'another function answers')
  tt.ok(s.ms < 1000, `in < 1 s (${Math.round(s.ms)} ms)`)
  const w = await pool.invoke(request(manifest('host-warm', warmCode), warmCode))
  tt.ok(w.ok, 'warm targets were restored')
})

t.test('a host whose thread is stuck behind a runaway is killed and replaced within the bound', async (tt) => {
  const wedge = fileURLToPath(new URL('./fixtures/wedged-host.ts', import.meta.url))
  const p = new RuntimePool({ budgetMb: 256, board: 'b-wedge', hostExecArgv: ['--import', import.meta.resolve('tsx'), `--import=${pathToFileURL(wedge).href}`] }) // the host is compiled; the fixture is TypeScript
  tt.teardown(() => p.close())
  const warmCode = ECHO + '// wedge warm\n'
  await p.setWarm(manifest('bystander-warm', warmCode), warmCode, 1)
  await until(() => p.hasStandby, 10_000)
  const pid = p.hostPid as number
  const code = 'export async function handler () { await new Promise((r) => setTimeout(r, 2000)); return "late" }\n'
  const timeoutMs = 400
  const t0 = performance.now()
  const o = await p.invoke(request(manifest('wedge-sleeper', code, { timeout_ms: timeoutMs }), code))
  const late = performance.now() - t0 - timeoutMs
  tt.notOk(o.ok, 'the sleeper fails')
  if (!o.ok) tt.equal(o.error.code, 'WISP_TIMEOUT', o.error.message)
  tt.ok(late < STOP_BOUND_MS + 400, `the caller hears ${Math.round(late)} ms past the timeout`)
  tt.equal(p.forcedRestarts, 1, 'the host was killed')
  tt.ok(await until(() => !alive(pid), 2000), 'the stuck host process is gone')
  const t1 = performance.now()
  const s = await stillServes(p, 'after-wedge')
  tt.ok(s.outcome.ok, 'another function answers on the new host')
  tt.comment(`host replaced: next invocation answered ${Math.round(performance.now() - t1)} ms after the kill was reported`)
  const w = await p.invoke(request(manifest('bystander-warm', warmCode), warmCode))
  tt.ok(w.ok, 'warm targets were restored on the new host')

  // Stuck before the run even started (no budget known yet): the silence bound catches it.
  const cold = 'export async function handler () { return 1 }\n'
  const t2 = performance.now()
  const q = await p.invoke(request(manifest('wedge-early', cold, { timeout_ms: 60_000 }), cold))
  tt.notOk(q.ok, 'an invocation on a host that went silent fails')
  tt.ok(performance.now() - t2 < HOST_SILENCE_MS + 2000, `within the silence bound (${Math.round(performance.now() - t2)} ms)`)
  tt.ok((await stillServes(p, 'after-silence')).outcome.ok, 'and the board serves on')
})

t.test('a host late at the end of an emulated slow board\'s stretch is not taken for a runaway: no function code runs then', async (tt) => {
  const late = fileURLToPath(new URL('./fixtures/late-host.js', import.meta.url))
  const p = new RuntimePool({ budgetMb: 256, board: 'b-late', speed: 0.5, hostExecArgv: [`--import=${pathToFileURL(late).href}`] })
  tt.teardown(() => p.close())
  await p.start()
  const pid = p.hostPid
  const code = 'export async function handler () { await new Promise((r) => setTimeout(r, 60)); return "slow board" }\n'
  const m = manifest('stretched', code)
  const t0 = performance.now()
  const o = await p.invoke(request(m, code))
  const wall = performance.now() - t0
  tt.ok(o.ok, o.ok ? 'the stretched run succeeds' : `${o.error.code}: ${o.error.message}`)
  tt.ok(wall > 60 * 2 + 700 - 50, `the host answered late (${Math.round(wall)} ms), past the stretch plus STOP_BOUND_MS (${STOP_BOUND_MS} ms)`)
  tt.equal(p.forcedRestarts, 0, 'the host was not killed')
  tt.equal(p.hostPid, pid, 'the same host serves on')
  tt.ok((await p.invoke(request(m, code))).ok, 'and answers the next run')
})

t.test('the host process survives messages it cannot handle', async (tt) => {
  const child = fork(compiledFile('runtime/agent/executor-host.js'), [], { execArgv: ['--no-node-snapshot'], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  tt.teardown(() => { child.kill('SIGKILL') })
  const got: FromHost[] = []
  child.on('message', (raw: FromHost | Batch<FromHost>) => unbatch(raw, (m) => {
    got.push(m)
    if (m.t === 'cache-get') child.send({ t: 'cache-reply', id: m.id, value: undefined })
  }))
  child.send({ t: 'init', options: { budgetMb: 64, spares: 0 } })
  tt.ok(await until(() => got.some((m) => m.t === 'ready'), 10_000), 'ready')
  for (const junk of ['null', 42, { t: 'nope' }, { t: 'invoke', id: 7, req: null }, { t: 'cache-reply', id: 99 }, { t: 'evict' }]) child.send(junk)
  tt.ok(await until(() => got.some((m) => m.t === 'done' && m.id === 7), 5000), 'a malformed invocation is answered')
  const bad = got.find((m): m is Extract<FromHost, { t: 'done' }> => m.t === 'done' && m.id === 7)
  tt.equal(bad?.outcome.ok, false)
  const m = manifest('survivor', ECHO)
  child.send({ t: 'invoke', id: 8, req: { ...request(m, ECHO, { still: 'here' }) } })
  tt.ok(await until(() => got.some((x) => x.t === 'done' && x.id === 8), 10_000), 'and the host serves on')
  const ok = got.find((x): x is Extract<FromHost, { t: 'done' }> => x.t === 'done' && x.id === 8)
  tt.ok(ok?.outcome.ok, 'with the right answer')
  tt.equal(child.exitCode, null, 'still running')
})
