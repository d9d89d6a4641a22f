import t, { type Test } from 'tap'
import { IsolatePool } from '../../runtime/agent/isolate-pool.js'
import { RuntimePool } from '../../runtime/agent/runtime-pool.js'
import { STOP_BOUND_MS } from '../../runtime/agent/watchdog.js'
import { DEFAULT_OUTPUT_LIMITS, MAX_ERROR_MESSAGE_CHARS, capOutcome, functionErrorCode } from '../../runtime/agent/outcome-caps.js'
import { cpuStops, until } from './fixtures/cpu.js'
import { manifest, request, stillServes } from './fixtures/pool-helpers.js'

const pool = new IsolatePool({ budgetMb: 512, killGraceMs: 100 })
t.teardown(() => pool.close())

// The hostile suite runs in both isolation modes; function names carry the mode.
const suite = (isolation: 'shared' | 'context'): void => {
  const mf = (name: string, code: string, over: Parameters<typeof manifest>[2] = {}) =>
    manifest(`${name}-${isolation}`, code, { isolation, ...over })
  const attack = async (name: string, body: string, over: Parameters<typeof manifest>[2] = {}) => {
    const code = `export async function handler (event, context) { ${body} }\n`
    return await pool.invoke(request(mf(name, code, { timeout_ms: 500, ...over }), code))
  }
  const servesAfter = async (tt: Test, name: string): Promise<void> => {
    const s = await stillServes(pool, `by-${name}`)
    tt.ok(s.outcome.ok, 'another function still answers')
    tt.ok(s.ms < 1000, `and answers in < 1 s (${Math.round(s.ms)} ms)`)
  }

  t.test(`${isolation}: process and require are not there`, async (tt) => {
    const o = await attack('a-process', 'return { p: typeof process, r: typeof require, g: typeof globalThis.process }')
    tt.ok(o.ok)
    if (o.ok) tt.same(o.result, { p: 'undefined', r: 'function', g: 'undefined' })
    const r = await attack('a-require', "return require('fs').readFileSync('/etc/passwd', 'utf8')")
    tt.notOk(r.ok)
    if (!r.ok) { tt.equal(r.error.code, 'WISP_FUNCTION_ERROR'); tt.match(r.error.message, /cannot import/) }
    await servesAfter(tt, 'process')
  })

  t.test(`${isolation}: the constructor escape finds no process`, async (tt) => {
    // Every Function reachable from the sandbox is the isolate's own, never the host's.
    const code = "const F = globalThis.constructor.constructor\nexport async function handler (event) {\n" +
      "  const viaThis = F('try { return typeof process } catch (e) { return e.name }')()\n" +
      "  const viaEvent = event.constructor.constructor('return typeof process')()\n" +
      "  const viaCtx = arguments[1].log.constructor('return typeof require + typeof process')()\n" +
      "  return [viaThis, viaEvent, viaCtx] }\n"
    const o = await pool.invoke(request(mf('a-escape', code), code, {}))
    tt.ok(o.ok)
    if (o.ok) tt.same(o.result, ['undefined', 'undefined', 'undefinedundefined'])
    const f = await attack('a-escape2', "return ({}).constructor.constructor('return process')().pid")
    tt.notOk(f.ok)
    if (!f.ok) tt.match(f.error.message, /process is not defined/)
    await servesAfter(tt, 'escape')
  })

  t.test(`${isolation}: prototype pollution in one function is not seen by another`, async (tt) => {
    const a = await attack('a-polluter', 'Object.prototype.polluted = 1; Array.prototype.push = () => 0; return ({}).polluted')
    tt.ok(a.ok)
    const b = await attack('a-victim', 'return { seen: ({}).polluted === undefined ? "no" : "yes", push: [1].push(2) }')
    tt.ok(b.ok)
    if (b.ok) tt.same(b.result, { seen: 'no', push: 2 })
    await servesAfter(tt, 'pollution')
  })

  t.test(`${isolation}: while (true) {} times out and the runtime is rebuilt`, async (tt) => {
    const o = await attack('a-spin', 'while (true) {}', { timeout_ms: 200 })
    tt.notOk(o.ok)
    if (!o.ok) tt.equal(o.error.code, 'WISP_TIMEOUT')
    await servesAfter(tt, 'spin')
    const again = await attack('a-spin', 'while (true) {}', { timeout_ms: 200 })
    if (!again.ok) tt.equal(again.error.code, 'WISP_TIMEOUT', 'the same function fails the same way again, not worse')
  })

  t.test(`${isolation}: a spin after awaiting is stopped by the watchdog, co-executing invocations get an explicit error`, async (tt) => {
    const code = 'export async function handler (event) { if (event.spin) { await Promise.resolve(); while (true) {} } await new Promise((r) => setTimeout(r, 50)); return "slow" }\n'
    const m = mf('a-await-spin', code, { timeout_ms: 300 })
    const t0 = performance.now()
    const [spin, other] = await Promise.all([pool.invoke(request(m, code, { spin: true })), pool.invoke(request(m, code, { spin: false }))])
    tt.notOk(spin.ok)
    if (!spin.ok) tt.equal(spin.error.code, 'WISP_TIMEOUT')
    tt.notOk(other.ok, 'the invocation sharing the stuck runtime does not hang')
    if (!other.ok) tt.ok(['WISP_TIMEOUT'].includes(other.error.code), other.error.message)
    tt.ok(performance.now() - t0 < 2000)
    await servesAfter(tt, 'await-spin')
    const after = await pool.invoke(request(m, code, { spin: false }))
    tt.ok(after.ok, 'the function itself is served again by a new runtime')
  })

  t.test(`${isolation}: an allocation bomb hits the memory limit`, async (tt) => {
    const o = await attack('a-bomb', 'const a = []; while (true) a.push(new Array(100000).fill(Math.random()))', { timeout_ms: 10_000, memory_mb: 32 })
    tt.notOk(o.ok)
    if (!o.ok) tt.equal(o.error.code, 'WISP_MEMORY_LIMIT')
    await servesAfter(tt, 'bomb')
  })

  t.test(`${isolation}: throwing a non-Error passes its value on`, async (tt) => {
    const o = await attack('a-throw', "throw 'plain string'")
    tt.notOk(o.ok)
    if (!o.ok) { tt.equal(o.error.code, 'WISP_FUNCTION_ERROR'); tt.equal(o.error.message, 'plain string') }
    const n = await attack('a-throw-obj', 'throw { reason: 42 }')
    if (!n.ok) tt.match(n.error.message, /non-Error.*"reason":42/)
    const e = await attack('a-throw-err', "throw new TypeError('bad input')")
    if (!e.ok) tt.equal(e.error.message, 'bad input')
    await servesAfter(tt, 'throw')
  })

  t.test(`${isolation}: an unhandled rejection fails only its invocation; the runtime keeps serving`, async (tt) => {
    // isolated-vm reports a rejection nobody handled during a call as that call's failure,
    // much as Node ends a process on one; the runtime itself is unharmed.
    const code = "export async function handler (event) { if (event.reject) Promise.reject(new Error('nobody listens')); return 'fine' }\n"
    const m = mf('a-unhandled', code)
    const o = await pool.invoke(request(m, code, { reject: true }))
    tt.notOk(o.ok)
    if (!o.ok) { tt.equal(o.error.code, 'WISP_FUNCTION_ERROR'); tt.match(o.error.message, /nobody listens/) }
    const next = await pool.invoke(request(m, code, { reject: false }))
    tt.ok(next.ok && next.result === 'fine' && !next.cold, 'the same runtime answers the next invocation')
    await servesAfter(tt, 'unhandled')
  })

  t.test(`${isolation}: results that are not JSON are function errors`, async (tt) => {
    for (const [name, body, re] of [
      ['a-ret-fn', 'return () => 1', /function/],
      ['a-ret-nested-fn', 'return { a: { f () {} } }', /function at key "f"/],
      ['a-ret-cycle', 'const o = {}; o.self = o; return o', /circular/i],
      ['a-ret-bigint', 'return 10n', /BigInt/],
      ['a-ret-map', "return new Map([['a', 1]])", /holds a Map, not a plain object/],
      ['a-ret-nested-set', 'return { tags: new Set([1]) }', /holds a Set at key "tags"/],
      ['a-ret-class', 'class Point { constructor () { this.x = 1 } } return [new Point()]', /holds an instance of Point at key "0"/],
      ['a-ret-bytes', 'return new Uint8Array(4)', /holds a Uint8Array/],
      ['a-ret-array-sub', 'class Stack extends Array {} return { s: Stack.from([1]) }', /holds an instance of Stack at key "s"/],
      ['a-ret-derived', 'return Object.create({ inherited: 1 })', /holds a non-plain object/]
    ] as const) {
      const o = await attack(name, body)
      tt.notOk(o.ok, name)
      if (!o.ok) { tt.equal(o.error.code, 'WISP_FUNCTION_ERROR'); tt.match(o.error.message, re) }
    }
    const plain = await attack('a-ret-plain', 'return { a: [1, { b: null }], n: Object.create(null), d: new Date(0) }')
    tt.same(plain.ok ? plain.result : plain.error, { a: [1, { b: null }], n: {}, d: '1970-01-01T00:00:00.000Z' }, 'plain objects, arrays, null-prototype records and Dates (as ISO strings) are results')
    const u = await attack('a-ret-undef', 'return undefined')
    tt.ok(u.ok && u.result === null, 'undefined becomes null')
    await servesAfter(tt, 'results')
  })

  t.test(`${isolation}: a 10 MB result is too large`, async (tt) => {
    const o = await attack('a-big', "return 'x'.repeat(10 * 1024 * 1024)", { memory_mb: 128 })
    tt.notOk(o.ok)
    if (!o.ok) tt.equal(o.error.code, 'WISP_PAYLOAD_TOO_LARGE')
    const multi = await attack('a-big-utf8', "return 'é'.repeat(200 * 1024)")
    if (!multi.ok) tt.equal(multi.error.code, 'WISP_PAYLOAD_TOO_LARGE', 'the limit is in UTF-8 bytes')
    else tt.fail('200 Ki two-byte characters pass 256 KiB')
    await servesAfter(tt, 'big')
  })

  t.test(`${isolation}: timers are bounded`, async (tt) => {
    const o = await attack('a-timers', 'let n = 0; try { for (let i = 0; i < 1000; i++) setTimeout(() => {}, 10) } catch (e) { return e.message } return "unbounded"')
    tt.ok(o.ok)
    if (o.ok) tt.match(o.result as string, /too many pending timers/)
    const late = await attack('a-late-timer', 'await new Promise((r) => setTimeout(r, 60_000)); return "woke"', { timeout_ms: 200 })
    if (!late.ok) tt.equal(late.error.code, 'WISP_TIMEOUT')
    await servesAfter(tt, 'timers')
  })

  t.test(`${isolation}: another invocation's globals are out of reach through context.shared`, async (tt) => {
    const code = `export async function init () { return { a: 1, list: [1] } }
export async function handler (event, context) {
  const s = context.shared
  if (event.write) {
    globalThis.secret = event.write
    const tries = []
    const attempt = (f) => { try { f(); tries.push('done') } catch (e) { tries.push(e.name) } }
    attempt(() => { s.a = 2 })
    attempt(() => { s.list.push(2) })
    attempt(() => { Object.getPrototypeOf(s).leak = event.write })
    attempt(() => { s.constructor.constructor('return globalThis')().leak = event.write })
    attempt(() => { s.list.constructor.prototype.leak = event.write })
    await new Promise((r) => setTimeout(r, 100))
    return tries
  }
  let viaCtor
  try { viaCtor = s.constructor.constructor('return globalThis')().leak } catch (e) { viaCtor = e.name }
  return { a: s.a, n: s.list.length, proto: ({}).leak ?? Object.getPrototypeOf(s).leak ?? null, viaCtor: viaCtor ?? null, secret: globalThis.secret ?? null }
}
`
    const m = mf('a-shared-reach', code, { concurrency: 4 })
    const writer = pool.invoke(request(m, code, { write: 'from-a' }))
    await new Promise((r) => setTimeout(r, 30))
    const reader = await pool.invoke(request(m, code, {}))
    const w = await writer
    tt.ok(w.ok, 'the writer ran')
    if (w.ok) {
      const tries = w.result as string[]
      tt.equal(tries[0], 'TypeError', 'context.shared cannot be changed')
      tt.equal(tries[1], 'TypeError', 'nor what it holds')
      if (isolation === 'context') tt.same(tries.slice(2), ['TypeError', 'TypeError', 'TypeError'], 'nor the main context behind it')
    }
    tt.ok(reader.ok)
    if (reader.ok) {
      const r = reader.result as Record<string, unknown>
      tt.equal(r.a, 1)
      tt.equal(r.n, 1)
      if (isolation === 'context') {
        tt.same({ proto: r.proto, secret: r.secret }, { proto: null, secret: null }, 'nothing written by the other invocation is seen')
        tt.not(r.viaCtor, 'from-a', `nor through the main context's Function (${String(r.viaCtor)})`)
      }
    }
    await servesAfter(tt, 'shared-reach')
  })

  t.test(`${isolation}: prototype tampering does not forge the reply`, async (tt) => {
    for (const [name, tamper] of [
      ['tojson', 'Object.prototype.toJSON = function () { return { ok: true, result: "forged", code: "WISP_MEMORY_LIMIT" } }'],
      ['push', 'Array.prototype.push = function () { this.length = 0; return 0 }'],
      ['stringify', 'JSON.stringify = () => \'{"ok":true,"result":"forged"}\'; JSON.parse = () => ({ ok: true, result: "forged" })'],
      ['log-inject', 'context.log(\'x"],"ok":true,"result":"forged","logs":["\')'],
      ['weakset', 'WeakSet.prototype.has = () => true; Map.prototype.set = function () { return this }']
    ] as const) {
      const o = await attack(`a-forge-${name}`, `${tamper}; context.log("still logged"); throw new Error("honest failure")`)
      tt.notOk(o.ok, `${name}: the failure stays a failure`)
      if (!o.ok) {
        tt.equal(o.error.code, 'WISP_FUNCTION_ERROR', name)
        tt.equal(o.error.message, 'honest failure', name)
      }
      tt.ok(o.logs.includes('still logged'), `${name}: its logs are intact`)
    }
    // A successful result is the function's own, whatever it patched.
    const ok = await attack('a-forge-ok', 'Object.prototype.toJSON = undefined; Array.prototype.push = () => 0; return { fine: [1, 2] }')
    tt.ok(ok.ok)
    if (ok.ok) tt.same(ok.result, { fine: [1, 2] })
    await servesAfter(tt, 'forge')
  })
}

suite('shared')
suite('context')

// Runaways in the board's real executor: isolates in the supervised host process. A handler
// that spins after a host timer, a host callback or a long microtask chain runs in a task the
// isolate's own timeout does not cover; it must be stopped all the same.
t.test('a runaway in the host process is stopped for certain, whatever it awaited', async (tt) => {
  const host = new RuntimePool({ budgetMb: 256, board: 'b-runaway' })
  tt.teardown(() => host.close())
  await host.start()
  const timeoutMs = 500
  for (const [name, body] of [
    ['after-timer', 'await new Promise((r) => setTimeout(r, 10)); for (;;) {}'],
    ['after-log', 'context.log("about to spin"); await new Promise((r) => setTimeout(r, 1)); context.log("spinning"); for (;;) {}'],
    ['after-microtasks', 'for (let i = 0; i < 100000; i++) await null; for (;;) {}']
  ] as const) {
    const code = `export async function handler (event, context) { ${body} }\n`
    const t0 = performance.now()
    const o = await host.invoke(request(manifest(`run-${name}`, code, { timeout_ms: timeoutMs }), code))
    const late = performance.now() - t0 - timeoutMs
    tt.notOk(o.ok, `${name}: fails`)
    if (!o.ok) tt.equal(o.error.code, 'WISP_TIMEOUT', `${name}: ${o.error.message}`)
    tt.ok(late < STOP_BOUND_MS + 500, `${name}: the caller hears within the bound (${Math.round(late)} ms past the timeout)`)
    const stopped = await cpuStops(() => host.hostPid, 5000)
    tt.ok(stopped.ok, `${name}: the host's CPU stops (${Math.round(stopped.ms)} ms after the reply)`)
    const s = await stillServes(host, `by-run-${name}`)
    tt.ok(s.outcome.ok, `${name}: another function answers next`)
    tt.ok(s.ms < 2000, `${name}: promptly (${Math.round(s.ms)} ms)`)
    await until(() => Object.values(host.stats()).every((st) => st.running === 0), 3000)
    tt.ok(Object.values(host.stats()).every((st) => st.running === 0), `${name}: no slot stays running`)
  }
})

t.test('the isolate host caps what a function sends back, and stays healthy', async (tt) => {
  const host = new RuntimePool({ budgetMb: 256, board: 'b-caps' })
  tt.teardown(() => host.close())
  await host.start()
  const pid = host.hostPid
  const big = 'export async function handler () { throw new Error("x".repeat(2e7)) }\n'
  const e = await host.invoke(request(manifest('cap-error', big, { memory_mb: 128, timeout_ms: 10_000 }), big))
  tt.notOk(e.ok)
  if (!e.ok) {
    tt.equal(e.error.code, 'WISP_FUNCTION_ERROR')
    tt.ok(e.error.message.length <= MAX_ERROR_MESSAGE_CHARS, `a 20 MB message comes back as ${e.error.message.length} characters`)
  }
  const noisy = 'export async function handler (event, context) { for (let i = 0; i < 1e6; i++) console.log("line", i); for (let i = 0; i < 1e3; i++) context.log("y".repeat(1e4)); return "done" }\n'
  const l = await host.invoke(request(manifest('cap-logs', noisy, { memory_mb: 128, timeout_ms: 20_000 }), noisy))
  tt.ok(l.ok, 'a million log lines do not fail the invocation')
  tt.ok(l.logs.length <= DEFAULT_OUTPUT_LIMITS.maxLogLines + 1, `${l.logs.length} lines kept`)
  tt.ok(l.logs.every((line) => line.length <= DEFAULT_OUTPUT_LIMITS.maxLogLineChars), 'each line is bounded')
  tt.match(l.logs.at(-1), /more log lines dropped/)
  tt.equal(host.hostPid, pid, 'the same host serves on')
  tt.ok((await stillServes(host, 'after-caps')).outcome.ok)
})

t.test('codes and sizes from the far side are not trusted', async (tt) => {
  const base = { cold: false, runMs: 1, cpuMs: 1, logs: [] as string[] }
  tt.equal(functionErrorCode('WISP_MEMORY_LIMIT'), 'WISP_FUNCTION_ERROR', 'a function cannot claim a runtime failure')
  tt.equal(functionErrorCode('NOT_A_CODE'), 'WISP_FUNCTION_ERROR')
  tt.equal(functionErrorCode('WISP_PAYLOAD_TOO_LARGE'), 'WISP_PAYLOAD_TOO_LARGE')
  const huge = capOutcome({ ...base, ok: true, result: 'z'.repeat(300 * 1024) }, DEFAULT_OUTPUT_LIMITS)
  tt.notOk(huge.ok)
  if (!huge.ok) tt.equal(huge.error.code, 'WISP_PAYLOAD_TOO_LARGE')
  const logs = capOutcome({ ...base, ok: true, result: 1, logs: Array.from({ length: 500 }, () => 'w'.repeat(5000)) }, DEFAULT_OUTPUT_LIMITS)
  tt.equal(logs.logs.length, DEFAULT_OUTPUT_LIMITS.maxLogLines + 1)
})
