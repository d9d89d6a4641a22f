import t from 'tap'
import { IsolatePool } from '../../runtime/agent/isolate-pool.js'
import { manifest, request } from './fixtures/pool-helpers.js'

const pool = new IsolatePool({ budgetMb: 512 })
t.teardown(() => pool.close())

const COUNTER = `let count = 0
export async function init () { return { table: { a: 1 }, bytes: new Uint8Array(4), list: [1, 2] } }
export async function handler (event, context) {
  count++
  globalThis.seen = (globalThis.seen ?? 0) + 1
  await new Promise((r) => setTimeout(r, 20))
  let frozen = true
  try { context.shared.table.a = 2; frozen = false } catch {}
  try { context.shared.list.push(3); frozen = false } catch {}
  const same = globalThis.lastShared === undefined || globalThis.lastShared === context.shared
  globalThis.lastShared = context.shared
  return { count, seen: globalThis.seen, frozen, same, a: context.shared.table.a, isFrozen: Object.isFrozen(context.shared.table) }
}
`

t.test('shared mode: top level runs once per runtime, co-executing invocations share it', async (tt) => {
  const m = manifest('mode-shared', COUNTER, { isolation: 'shared', concurrency: 8 })
  const outs = await Promise.all(Array.from({ length: 5 }, () => pool.invoke(request(m, COUNTER))))
  tt.ok(outs.every((o) => o.ok))
  const counts = outs.map((o) => (o.ok ? (o.result as { count: number }).count : -1)).sort()
  tt.same(counts, [5, 5, 5, 5, 5], 'all five saw the shared counter after they all incremented it')
  tt.equal(pool.stats()['mode-shared']?.runtimes, 1, 'one runtime served all five')
  for (const o of outs) if (o.ok) tt.match(o.result, { frozen: true, same: true, a: 1, isFrozen: true })
})

t.test('context mode: globals are private per invocation, init runs once and is shared frozen', async (tt) => {
  const m = manifest('mode-context', COUNTER, { isolation: 'context', concurrency: 8 })
  const outs = await Promise.all(Array.from({ length: 5 }, () => pool.invoke(request(m, COUNTER))))
  tt.ok(outs.every((o) => o.ok))
  for (const o of outs) if (o.ok) tt.match(o.result, { count: 1, seen: 1, frozen: true, a: 1, isFrozen: true })
  tt.equal(pool.stats()['mode-context']?.runtimes, 1, 'one isolate, many contexts')
})

t.test('init state is handed over without a copy', async (tt) => {
  const code = `export async function init () { const big = []; for (let i = 0; i < 200000; i++) big.push({ i, s: 'v' + i }); return { big } }
export async function handler (event, context) { await new Promise((r) => setTimeout(r, 100)); return context.shared.big.length }
`
  for (const isolation of ['shared', 'context'] as const) {
    const m = manifest(`nocopy-${isolation}`, code, { isolation, concurrency: 20, memory_mb: 128, timeout_ms: 10_000 })
    const first = await pool.invoke(request(m, code))
    tt.ok(first.ok)
    const before = await pool.measureMemMb()
    const outs = Promise.all(Array.from({ length: 20 }, () => pool.invoke(request(m, code))))
    await new Promise((r) => setTimeout(r, 60))
    const during = await pool.measureMemMb()
    tt.ok((await outs).every((o) => o.ok && o.result === 200000))
    // The state is ~15 MiB; 20 copies would add ~300 MiB.
    tt.ok(during - before < 10, `${isolation}: 20 in flight add ${(during - before).toFixed(1)} MiB, not 20 copies`)
  }
})

t.test('typed-array contents in shared state are not frozen (documented)', async (tt) => {
  const code = `export async function init () { return { bytes: new Uint8Array(2) } }
export async function handler (event, context) { context.shared.bytes[0] = 7; let added = true; try { context.shared.bytes.extra = 1 } catch { added = false } return { b: context.shared.bytes[0], added } }
`
  const o = await pool.invoke(request(manifest('typed-shared', code), code))
  tt.ok(o.ok)
  if (o.ok) tt.same(o.result, { b: 7, added: false }, 'elements writable, the view itself sealed')
})

t.test('init failure and a bad init export', async (tt) => {
  const code = "export async function init () { throw new Error('no table') }\nexport async function handler () { return 1 }\n"
  const o = await pool.invoke(request(manifest('init-throws', code), code))
  tt.notOk(o.ok)
  if (!o.ok) { tt.equal(o.error.code, 'WISP_FUNCTION_ERROR'); tt.match(o.error.message, /init failed: no table/) }
})
