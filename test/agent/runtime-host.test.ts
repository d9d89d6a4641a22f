import t from 'tap'
import { RuntimePool } from '../../runtime/agent/runtime-pool.js'
import { ECHO, manifest, request, stillServes } from './fixtures/pool-helpers.js'

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
  tt.ok(pool.memMb() > 0)
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
