import t from 'tap'
import { capRig, until } from '../helpers/cap-rig.js'
import { TestClient } from '../helpers/mqtt.js'

// Real gateway, real board, real isolates: every refusal is made where it must be (the isolate
// host or the gateway) and reaches the handler as a rejected promise with a WISP_* code.
const rig = await capRig()
t.teardown(rig.close)

/** Runs `body` (async, with event `e` and `context` `c`) and returns what it returned, or the code and message it caught. */
const catching = (body: string): string =>
  `export async function handler (e, c) { try { return { value: await (async () => { ${body} })() } } catch (err) { return { code: err.code, message: err.message } } }`

t.test('publish to a topic the manifest does not declare: WISP_FORBIDDEN, and nothing is published', async (t) => {
  await rig.client.sub('elsewhere/#')
  await rig.deploy('pub-out', catching("await c.publish('elsewhere/x', 'hi'); return 'published'"), { publishes: ['actuators/#'] })
  const r = await rig.call('pub-out', {})
  t.match(r, { ok: true, result: { code: 'WISP_FORBIDDEN', message: /may publish only to actuators\/#/ } })
  await rig.deploy('pub-none', catching("await c.publish('actuators/fan', 'hi')"))
  t.match(await rig.call('pub-none', {}), { ok: true, result: { code: 'WISP_FORBIDDEN', message: /declares no topics/ } })
  await rig.deploy('pub-wisp', catching("await c.publish('wisp/invoke/x', 'hi')"), { publishes: ['actuators/#'] })
  t.match(await rig.call('pub-wisp', {}), { ok: true, result: { code: 'WISP_FORBIDDEN', message: /under "wisp\/"/ } })
  t.equal(rig.client.received.filter((m) => m.topic.startsWith('elsewhere/')).length, 0, 'nothing reached elsewhere/')
})

t.test('an uncaught refusal fails the invocation and names the code', async (t) => {
  await rig.deploy('pub-throw', "export async function handler (e, c) { await c.publish('elsewhere/x', 'hi') }", { publishes: ['actuators/#'] })
  t.match(await rig.call('pub-throw', {}), { ok: false, error: { code: 'WISP_FUNCTION_ERROR', message: /WISP_FORBIDDEN/ } })
})

t.test('bad arguments are refused in the isolate before anything is sent', async (t) => {
  await rig.deploy('bad-args', catching("await c.kv.get(42)"))
  t.match(await rig.call('bad-args', {}), { ok: true, result: { message: /kv\.get: the key must be a string/ } })
  await rig.deploy('bad-qos', catching("await c.publish('actuators/x', 'p', { qos: 7 })"), { publishes: ['actuators/#'] })
  t.match(await rig.call('bad-qos', {}), { ok: true, result: { message: /qos must be 0 or 1/ } })
})

t.test('an oversized KV value or key: WISP_PAYLOAD_TOO_LARGE at the host, nothing stored', async (t) => {
  await rig.deploy('kv-big', catching("const r = []; try { await c.kv.put('k', 'x'.repeat(70000)) } catch (err) { r.push(err.code ?? err.name) } try { await c.kv.put('k', '\u00e9'.repeat(33000)) } catch (err) { r.push(err.code) } try { await c.kv.get('\u00e9'.repeat(200)) } catch (err) { r.push(err.code) } r.push(await c.kv.get('k')); return r"))
  const r = await rig.call('kv-big', {})
  // 70,000 characters: the isolate's own check (a RangeError); 33,000 two-byte characters pass it and are
  // caught by the host's byte count, as is a 400-byte key of 200 characters.
  t.same(r, { ok: true, result: { value: ['RangeError', 'WISP_PAYLOAD_TOO_LARGE', 'WISP_PAYLOAD_TOO_LARGE', null] }, receipt: r.receipt })
})

t.test('KV: put/get/list/delete with read-your-writes, and TTL', async (t) => {
  await rig.deploy('kv-a', catching(`
    await c.kv.put('user/1', { name: 'ada' }); await c.kv.put('user/2', [1, 2]); await c.kv.put('other', 'x')
    await c.kv.put('brief', 1, { ttlMs: 1 })
    const got = await c.kv.get('user/1'); const list = await c.kv.list('user/')
    await c.kv.delete('user/2')
    await new Promise((r) => setTimeout(r, 20))
    return { got, list, after: await c.kv.list('user/'), gone: await c.kv.get('user/2'), expired: await c.kv.get('brief'), all: await c.kv.list() }`))
  const r = await rig.call('kv-a', {})
  t.same(r.result, { value: { got: { name: 'ada' }, list: ['user/1', 'user/2'], after: ['user/1'], gone: null, expired: null, all: ['other', 'user/1'] } })
})

t.test('KV is per function: one never reads or lists another\'s keys', async (t) => {
  await rig.deploy('kv-b', catching("return { mine: await c.kv.get('user/1'), list: await c.kv.list(), own: (await c.kv.put('user/1', 'b'), await c.kv.get('user/1')) }"))
  t.same((await rig.call('kv-b', {})).result, { value: { mine: null, list: [], own: 'b' } })
  t.match(await rig.call('kv-a', {}), { ok: true, result: { value: { got: { name: 'ada' } } } }, 'kv-a still reads its own value')
})

t.test('invoke chains through the gateway, and recursion stops at the depth limit', async (t) => {
  await rig.deploy('double', 'export async function handler (e) { return e.n * 2 }')
  await rig.deploy('caller', catching("return await c.invoke('double', { n: e.n })"))
  t.match(await rig.call('caller', { n: 21 }), { ok: true, result: { value: 42 } })
  await rig.deploy('nowhere', catching("return await c.invoke('no-such-fn', {})"))
  t.match(await rig.call('nowhere', {}), { ok: true, result: { code: 'WISP_UNKNOWN_FUNCTION' } })
  await rig.deploy('deep', catching("return await c.invoke('deep', { n: e.n + 1 })").replace('catch (err) { return {', 'catch (err) { return { at: e.n,'))
  t.match(await rig.call('deep', { n: 0 }), { ok: true, result: { value: { value: { value: { value: { at: 4, code: 'WISP_CAP_LIMIT', message: /4 deep/ } } } } } })
})

t.test('calls per invocation are bounded', async (t) => {
  await rig.deploy('chatty', catching("let n = 0; try { for (;;) { await c.kv.get('k'); n++ } } catch (err) { return { n, code: err.code } }"))
  t.same((await rig.call('chatty', {})).result, { value: { n: 64, code: 'WISP_CAP_LIMIT' } })
})

t.test('calls waiting at once are bounded too', async (t) => {
  await rig.deploy('burst', catching("const r = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => c.kv.get('k' + i))); return r.map((x) => x.status === 'fulfilled' ? 'ok' : x.reason.code)"))
  const r = (await rig.call('burst', {})).result as { value: string[] }
  t.equal(r.value.filter((x) => x === 'ok').length, 8, '8 at once')
  t.equal(r.value.filter((x) => x === 'WISP_CAP_LIMIT').length, 12, 'the rest refused at once')
})

t.test('context isolation has the same capabilities', async (t) => {
  await rig.deploy('ctx-kv', catching("await c.kv.put('n', (await c.kv.get('n') ?? 0) + 1); return await c.kv.get('n')"), { isolation: 'context' })
  t.same((await rig.call('ctx-kv', {})).result, { value: 1 })
  t.same((await rig.call('ctx-kv', {})).result, { value: 2 })
})

t.test('the gateway trusts no board: a call for an invocation not running on the asking board is refused', async (t) => {
  // In open mode any client can reach the board topics (with accounts the broker's ACL ties them
  // to the board's account); the gateway still checks the invocation against its own table.
  const spy = await TestClient.connect(rig.gw().url)
  t.teardown(() => spy.close())
  await spy.sub('wisp/boards/cb1/run')
  await spy.sub('wisp/boards/evil/cap-reply')
  await rig.deploy('slow-kv', "export async function handler (e, c) { await new Promise((r) => setTimeout(r, 1500)); return await c.kv.get('secret') }")
  const pending = rig.call('slow-kv', {})
  const runs = await spy.waitFor((r) => r.some((m) => m.topic === 'wisp/boards/cb1/run'), 10_000)
  const invocation = (runs.find((m) => m.topic === 'wisp/boards/cb1/run')?.json as { invocation: string }).invocation
  await spy.pub('wisp/boards/evil/cap', JSON.stringify({ v: 1, id: 1, invocation, budget_ms: 1000, call: { op: 'kv.put', key: 'secret', value: '"forged"' } }))
  await spy.pub('wisp/boards/evil/cap', JSON.stringify({ v: 1, id: 2, invocation: 'no-such-invocation', budget_ms: 1000, call: { op: 'kv.get', key: 'secret' } }))
  const replies = await spy.waitFor((r) => r.filter((m) => m.topic === 'wisp/boards/evil/cap-reply').length >= 2, 10_000)
  const byId = new Map(replies.filter((m) => m.topic === 'wisp/boards/evil/cap-reply').map((m) => [(m.json as { id: number }).id, m.json]))
  t.match(byId.get(1), { result: { ok: false, error: { code: 'WISP_FORBIDDEN', message: /not running on board evil/ } } })
  t.match(byId.get(2), { result: { ok: false, error: { code: 'WISP_FORBIDDEN' } } })
  t.same((await pending).result, null, 'nothing was written for slow-kv')
})

t.test('a call that cannot be answered in time ends at the caller\'s deadline, and so does its callee', async (t) => {
  await rig.deploy('sleeper', 'export async function handler () { await new Promise((r) => setTimeout(r, 5000)); return "late" }', { timeout_ms: 10_000 })
  await rig.deploy('impatient', catching("return await c.invoke('sleeper', {})"), { timeout_ms: 600 })
  const callee: Array<{ code?: string, at: number }> = []
  const off = rig.gw().leader.onCompletion((c) => { if (c.fn === 'sleeper') callee.push({ code: c.reply.ok ? undefined : c.reply.error.code, at: Date.now() }) })
  t.teardown(off)
  const t0 = Date.now()
  const r = await rig.call('impatient', {})
  t.match(r, { ok: false, error: { code: 'WISP_TIMEOUT' } })
  t.ok(Date.now() - t0 < 3000, `answered in ${Date.now() - t0} ms, not after the callee's 5 s`)
  await until('the callee ended', () => callee.length > 0, 5000)
  t.equal(callee[0]?.code, 'WISP_TIMEOUT', 'the callee had only the caller\'s deadline')
  t.ok((callee[0]?.at ?? Infinity) - t0 < 3500, `the callee ended ${(callee[0]?.at ?? 0) - t0} ms after the call`)
  t.same((await rig.call('caller', { n: 1 })).result, { value: 2 }, 'the board serves on')
})

t.test('a payload that JSON escaping makes 6 times longer still goes through, and the board stays connected', async (t) => {
  // 60,000 control characters are 60,000 bytes of payload but 360,000 in the request's JSON.
  await rig.client.sub('actuators/raw')
  await rig.deploy('escapes', catching("await c.publish('actuators/raw', '\\u0001'.repeat(60000)); return 'sent'"), { publishes: ['actuators/#'] })
  t.same((await rig.call('escapes', {})).result, { value: 'sent' })
  const got = await rig.client.waitFor((r) => r.some((m) => m.topic === 'actuators/raw'), 10_000)
  t.equal(got.find((m) => m.topic === 'actuators/raw')?.payload.length, 60000)
  t.same((await rig.call('caller', { n: 2 })).result, { value: 4 }, 'the board still reaches the gateway')
})
