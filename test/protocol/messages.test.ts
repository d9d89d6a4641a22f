import t from 'tap'
import { jsonDepth } from '../../runtime/protocol/json-limits.js'
import { encode, parseBoardState, parseControl, parseDone, parseEvent, parseManifest, parseRun } from '../../runtime/protocol/messages.js'

const sha = 'b'.repeat(64)
const buf = (x: unknown): Buffer => typeof x === 'string' ? Buffer.from(x) : encode(x)

t.test('manifest: defaults filled, value frozen', async (t) => {
  const m = parseManifest(buf({ v: 1, name: 'hello', sha256: sha, size: 10 }))
  t.same({ ...m }, { v: 1, name: 'hello', sha256: sha, size: 10, memory_mb: 64, timeout_ms: 5000, concurrency: 32, isolation: 'shared' })
  t.ok(Object.isFrozen(m))
})

t.test('manifest: wrong types and versions give a clear WISP_BAD_PAYLOAD', async (t) => {
  t.throws(() => parseManifest(buf({ v: 2, name: 'hello', sha256: sha, size: 10 })), { code: 'WISP_BAD_PAYLOAD', message: /manifest: v:/ })
  t.throws(() => parseManifest(buf({ v: 1, name: 'Hello', sha256: sha, size: 10 })), { code: 'WISP_BAD_PAYLOAD', message: /name: must be 1-64/ })
  t.throws(() => parseManifest(buf({ v: 1, name: 'h', sha256: 'nope', size: 10 })), { message: /sha256/ })
  t.throws(() => parseManifest(buf({ v: 1, name: 'h', sha256: sha, size: '10' })), { message: /size/ })
  t.throws(() => parseManifest(buf({ v: 1, name: 'h', sha256: sha, size: 1, isolation: 'none' })), { message: /isolation/ })
  t.throws(() => parseManifest(buf('{not json')), { code: 'WISP_BAD_PAYLOAD', message: /not valid JSON/ })
})

t.test('run, done, control and state messages', async (t) => {
  const run = parseRun(buf({ v: 1, invocation: 'i1', request_id: 'r1', fn: 'f', sha256: sha, event: { a: [1] }, budget_ms: 100, attempt: 0 }))
  t.same(run.event, { a: [1] })
  t.throws(() => parseRun(buf({ v: 1, invocation: 'i 1', request_id: 'r1', fn: 'f', sha256: sha, event: null, budget_ms: 1, attempt: 0 })), { message: /invocation/ })
  t.throws(() => parseRun(buf({ v: 1, invocation: 'i1', request_id: 'r1', fn: 'f', sha256: sha, event: null, budget_ms: -1, attempt: 0 })), { message: /budget_ms/ })
  const done = parseDone(buf({ v: 1, invocation: 'i1', attempt: 0, reply: { ok: false, error: { code: 'WISP_TIMEOUT', message: 'late' } } }))
  t.equal(done.reply.ok, false)
  t.throws(() => parseDone(buf({ v: 1, invocation: 'i1', attempt: 0, reply: { ok: false, error: { code: 'NOPE', message: '' } } })), { message: /reply/ })
  t.same(parseControl(buf({ v: 1, op: 'warm', fn: 'f', runtimes: 2 })), { v: 1, op: 'warm', fn: 'f', runtimes: 2 })
  t.throws(() => parseControl(buf({ v: 1, op: 'reboot' })), { message: /op/ })
  const off = parseBoardState(buf({ v: 1, id: 'b1', incarnation: '00000000a-aaaaaa', status: 'offline', ts: 1 }))
  t.equal(off.status, 'offline')
  t.throws(() => parseBoardState(buf({ v: 1, id: 'b1', incarnation: 'zzzz', status: 'offline', ts: 1 })), { code: 'WISP_BAD_PAYLOAD', message: /incarnation/ }, 'an incarnation carries a boot time')
  t.throws(() => parseBoardState(buf({ v: 1, id: 'b1' })), { code: 'WISP_BAD_PAYLOAD' })
})

t.test('events: empty is null, JSON required, size bounded', async (t) => {
  t.equal(parseEvent(Buffer.alloc(0)), null)
  t.same(parseEvent(buf('{"name":"edge"}')), { name: 'edge' })
  t.equal(parseEvent(buf('42')), 42)
  t.throws(() => parseEvent(buf('{"name":')), { code: 'WISP_BAD_PAYLOAD', message: /not valid JSON/ })
  t.throws(() => parseEvent(Buffer.alloc(2048, 0x20), 1024), { code: 'WISP_PAYLOAD_TOO_LARGE', message: /2048 bytes; the limit is 1024/ })
})

t.test('JSON depth is counted without recursion, outside strings, and bounded', async (t) => {
  t.equal(jsonDepth(buf('1')), 0)
  t.equal(jsonDepth(buf('{"a":[[1],{"b":2}]}')), 3)
  t.equal(jsonDepth(buf('"[[[{{{"')), 0, 'brackets in a string do not count')
  t.equal(jsonDepth(buf('["\\\\",["\\"["]]')), 2, 'escaped quotes and backslashes are followed')
  t.equal(jsonDepth(Buffer.from('['.repeat(1_000_000)), 64), 65, 'stops counting past the limit')
  t.throws(() => parseEvent(Buffer.from('['.repeat(65) + ']'.repeat(65))), { code: 'WISP_BAD_PAYLOAD', message: /deeper than 64/ })
  t.throws(() => parseControl(Buffer.from('{"v":1,"op":"warm","x":' + '['.repeat(1000) + '}')), { code: 'WISP_BAD_PAYLOAD', message: /deeper than/ })
  t.throws(() => parseControl(Buffer.alloc(5000, 0x20)), { code: 'WISP_PAYLOAD_TOO_LARGE' }, 'every message kind has its own size limit')
})
