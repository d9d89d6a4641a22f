import t from 'tap'
import { IsolatePool } from '../../runtime/agent/isolate-pool.js'
import { ECHO, manifest, request } from './fixtures/pool-helpers.js'

t.test('a cold start takes the spare, and a new spare is made after it', async (tt) => {
  const pool = new IsolatePool({ budgetMb: 256, spareMemoryMb: 32 })
  tt.teardown(() => pool.close())
  await pool.sparesReady()
  const spareMb = await pool.measureMemMb()
  tt.ok(spareMb > 0, `the spare shows in memMb (${spareMb.toFixed(2)} MiB)`)
  tt.equal(pool.reservedMb(), 0, 'and is not counted against the budget')
  const m = manifest('spare-echo', ECHO, { memory_mb: 32 })
  const o = await pool.invoke(request(m, ECHO, { x: 1 }))
  tt.ok(o.ok && o.cold, 'a cold start')
  if (o.ok) tt.same(o.result, { echo: { x: 1 }, fn: 'spare-echo' })
  await pool.sparesReady()
  tt.same(pool.stats()['spare-echo'], { runtimes: 1, running: 0 })
  tt.ok(await pool.measureMemMb() > spareMb, 'runtime and a new spare')
})

t.test('a runtime built on a spare keeps the function\'s memory limit', async (tt) => {
  const pool = new IsolatePool({ budgetMb: 256, spareMemoryMb: 32 })
  tt.teardown(() => pool.close())
  await pool.sparesReady()
  const code = 'export async function handler () { const a = []; while (true) a.push(new Array(100000).fill(Math.random())) }\n'
  const o = await pool.invoke(request(manifest('spare-bomb', code, { memory_mb: 32, timeout_ms: 10_000 }), code))
  tt.notOk(o.ok)
  if (!o.ok) tt.equal(o.error.code, 'WISP_MEMORY_LIMIT')
  // Another size than the spare's: built on an isolate of its own.
  const big = manifest('spare-other-size', ECHO + '// 48\n', { memory_mb: 48 })
  tt.ok((await pool.invoke(request(big, ECHO + '// 48\n'))).ok)
})

t.test('spares: 0 builds every runtime from scratch', async (tt) => {
  const pool = new IsolatePool({ budgetMb: 256, spares: 0 })
  tt.teardown(() => pool.close())
  await pool.sparesReady()
  tt.equal(await pool.measureMemMb(), 0)
  const o = await pool.invoke(request(manifest('nospare', ECHO), ECHO))
  tt.ok(o.ok && o.cold)
})

t.test('exports are read after the top level ran, as values', async (tt) => {
  const pool = new IsolatePool({ budgetMb: 256 })
  tt.teardown(() => pool.close())
  const code = `export let handler = async () => 'first'
handler = async (event, context) => ({ second: true, shared: context.shared })
export const init = async () => ({ n: 1 })
`
  for (const isolation of ['shared', 'context'] as const) {
    const o = await pool.invoke(request(manifest(`late-${isolation}`, code, { isolation }), code))
    tt.ok(o.ok)
    if (o.ok) tt.same(o.result, { second: true, shared: { n: 1 } }, isolation)
  }
})

t.test('context mode releases its contexts', async (tt) => {
  const pool = new IsolatePool({ budgetMb: 256 })
  tt.teardown(() => pool.close())
  const code = 'const big = new Array(50000).fill(1)\nexport async function handler () { return big.length }\n'
  const m = manifest('ctx-release', code, { isolation: 'context', memory_mb: 64 })
  for (let i = 0; i < 400; i++) {
    const o = await pool.invoke(request(m, code))
    if (!o.ok) { tt.fail(o.error.message); return }
  }
  // 400 contexts each holding a 400 KB array would be past the 64 MB limit if any were kept.
  tt.equal(pool.stats()['ctx-release']?.runtimes, 1, 'one runtime served all 400, none hit its memory limit')
})
