import t from 'tap'
import { ManualClock } from '../../runtime/shared/clock.js'
import { IsolatePool } from '../../runtime/agent/isolate-pool.js'
import { ECHO, manifest, request, stillServes } from './fixtures/pool-helpers.js'

t.test('logs are captured per invocation and bounded', async (tt) => {
  const pool = new IsolatePool({ budgetMb: 256 })
  tt.teardown(() => pool.close())
  const code = `export async function handler (event, context) {
  console.log('hello', { n: event.n }); context.log('via context', event.n)
  if (event.flood) for (let i = 0; i < 500; i++) console.log('x'.repeat(5000))
  return 1 }
`
  const m = manifest('logger', code)
  const o = await pool.invoke(request(m, code, { n: 1 }))
  tt.same(o.logs, ['hello {"n":1}', 'via context 1'])
  const f = await pool.invoke(request(m, code, { n: 2, flood: true }))
  tt.equal(f.logs.length, 51, '50 lines and a note of what was dropped')
  tt.ok(f.logs.slice(0, 50).every((l) => l.length <= 1024))
  tt.match(f.logs[50], /dropped/)
  const [a, b] = await Promise.all([pool.invoke(request(manifest('logger-ctx', code, { isolation: 'context' }), code, { n: 3 })), pool.invoke(request(manifest('logger-ctx', code, { isolation: 'context' }), code, { n: 4 }))])
  tt.same([a.logs, b.logs], [['hello {"n":3}', 'via context 3'], ['hello {"n":4}', 'via context 4']])
})

t.test('bad code is WISP_BAD_CODE from validate and from invoke', async (tt) => {
  const pool = new IsolatePool({ budgetMb: 256 })
  tt.teardown(() => pool.close())
  for (const [name, code, re] of [
    ['bad-syntax', 'export async function handler ( { return 1 }', /line 1/],
    ['bad-nohandler', 'export const x = 1', /no function `handler`/],
    ['bad-notfn', 'export const handler = 42', /no function `handler`/],
    ['bad-toplevel', "throw new Error('boom')\nexport async function handler () {}", /top level threw: boom/],
    ['bad-tla', 'await 1\nexport async function handler () {}', /Top-level await/]
  ] as const) {
    const m = manifest(name, code)
    await tt.rejects(pool.validate(m, code), { code: 'WISP_BAD_CODE', message: re }, `${name}: validate`)
    const o = await pool.invoke(request(m, code))
    tt.ok(!o.ok && o.error.code === 'WISP_BAD_CODE', `${name}: invoke`)
  }
  await tt.resolves(pool.validate(manifest('good', ECHO), ECHO))
})

t.test('co-execution: one runtime up to concurrency, then more up to the cores', async (tt) => {
  const pool = new IsolatePool({ budgetMb: 512, maxRuntimesPerFunction: 2 })
  tt.teardown(() => pool.close())
  const code = 'export async function handler () { await new Promise((r) => setTimeout(r, 100)); return 1 }\n'
  const m = manifest('coexec', code, { concurrency: 4 })
  const t0 = performance.now()
  const run = Promise.all(Array.from({ length: 8 }, () => pool.invoke(request(m, code))))
  await new Promise((r) => setTimeout(r, 50))
  tt.same(pool.stats().coexec, { runtimes: 2, running: 8 })
  tt.ok((await run).every((o) => o.ok))
  tt.ok(performance.now() - t0 < 400, 'the eight ran side by side')
})

t.test('50 functions at once on a 256 MB budget: LRU eviction, no crash', async (tt) => {
  const pool = new IsolatePool({ budgetMb: 256 })
  tt.teardown(() => pool.close())
  const outs = await Promise.all(Array.from({ length: 50 }, (_, i) => {
    const code = ECHO + `// fn ${i}\n`
    return pool.invoke(request(manifest(`many-${i}`, code, { memory_mb: 32 }), code, { i }))
  }))
  tt.equal(outs.filter((o) => o.ok).length, 50, 'all answered')
  tt.ok(pool.reservedMb() <= 256, `within budget (${pool.reservedMb()} MB)`)
  tt.ok(Object.keys(pool.stats()).length <= 8)
  const s = await stillServes(pool)
  tt.ok(s.outcome.ok && s.ms < 1000)
})

t.test('warm targets, evict, keep-alive on the injected clock', async (tt) => {
  const clock = new ManualClock(1000)
  const pool = new IsolatePool({ budgetMb: 256, clock, keepAliveMs: 60_000, maxRuntimesPerFunction: 4 })
  tt.teardown(() => pool.close())
  const m = manifest('warmed', ECHO)
  await pool.setWarm(m, ECHO, 2)
  tt.same(pool.stats().warmed, { runtimes: 2, running: 0 })
  const o = await pool.invoke({ ...request(m, ECHO), deadlineMs: clock.now() + 5000 })
  tt.ok(o.ok && !o.cold, 'a warm runtime answers without a cold start')
  clock.advance(120_000)
  tt.same(pool.stats().warmed, { runtimes: 2, running: 0 }, 'the warm target outlives the keep-alive')
  await pool.setWarm(m, ECHO, 1)
  tt.same(pool.stats().warmed, { runtimes: 1, running: 0 })
  pool.evict('warmed')
  tt.equal(pool.stats().warmed, undefined)
  const cold = manifest('cold-one', ECHO + '//c\n')
  await pool.invoke({ ...request(cold, ECHO + '//c\n'), deadlineMs: clock.now() + 5000 })
  tt.equal(pool.stats()['cold-one']?.runtimes, 1)
  clock.advance(60_000)
  tt.equal(pool.stats()['cold-one'], undefined, 'an idle runtime above target goes after the keep-alive')
})

t.test('simulated speed stretches each run', async (tt) => {
  const pool = new IsolatePool({ budgetMb: 256, speed: 0.5 })
  tt.teardown(() => pool.close())
  const code = 'export async function handler () { await new Promise((r) => setTimeout(r, 60)); return 1 }\n'
  const m = manifest('slowboard', code)
  const t0 = performance.now()
  const o = await pool.invoke(request(m, code))
  const wall = performance.now() - t0
  tt.ok(o.ok)
  tt.ok(o.runMs >= 115, `runMs doubled (${Math.round(o.runMs)})`)
  tt.ok(wall >= 115, 'and the slot was held that long')
})
