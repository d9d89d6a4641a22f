import t from 'tap'
import { connect, type Socket } from 'node:net'
import { HttpInvoker } from '../../runtime/http/invoker.js'
import { startInvokeServer, type InvokeServerOptions } from '../../runtime/http/invoke-server.js'
import { STATUS_TABLE } from '../../runtime/http/status-codes.js'
import { ERROR_CODES } from '../../runtime/shared/errors.js'
import { silentLogger } from '../../runtime/shared/log.js'
import type { LeaderOptions } from '../../runtime/leader/leader.js'
import { leaderRig } from '../helpers/leader-rig.js'
import { httpRequest, postJson } from '../helpers/http.js'

/** The gateway's leader (aedes, registry, leader; no board unless a test starts one) with the HTTP invoke server in front. */
const rig = async (t: { teardown: (fn: () => unknown) => void }, options: Partial<LeaderOptions>, server: Partial<InvokeServerOptions> = {}): Promise<{ base: string }> => {
  const r = await leaderRig({ options: { replyGraceMs: 0, ...options } })
  const invoker = new HttpInvoker({ leader: r.leader, registry: r.registry, topics: r.topics })
  await invoker.start()
  const s = await startInvokeServer({ host: '127.0.0.1', port: 0, invoker, maxEventBytes: r.leader.opts.maxEventBytes, log: silentLogger, ...server })
  t.teardown(async () => { await s.close(); await invoker.stop(); await r.close() })
  await r.deploy('echo', undefined, { timeout_ms: 100 })
  return { base: s.url }
}

/** Resolves when the server closes `sock`, with what it wrote before. */
const closed = async (sock: Socket): Promise<string> => await new Promise((resolve) => {
  let got = ''
  sock.on('data', (c: Buffer) => { got += c.toString('utf8') })
  sock.on('error', () => {})
  sock.on('close', () => resolve(got))
})

t.test('every error code has an HTTP status', async (t) => {
  t.same(Object.keys(STATUS_TABLE).sort(), Object.keys(ERROR_CODES).sort())
})

t.test('no board: the invocation waits, then 503 WISP_NO_BOARD with Retry-After; past maxInflight 503 WISP_OVERLOADED', async (t) => {
  const { base } = await rig(t, { waitMs: 400, maxInflight: 1 })
  const first = postJson(`${base}function/echo`, { a: 1 })
  // The first one holds the only in-flight slot until it gives up waiting for a board.
  let second = await postJson(`${base}function/echo`, {})
  for (let i = 0; i < 50 && second.status !== 503; i++) second = await postJson(`${base}function/echo`, {})
  t.equal(second.status, 503)
  t.match(second.json, { error: { code: 'WISP_OVERLOADED' } })
  t.equal(second.headers['retry-after'], '1')
  const r = await first
  t.equal(r.status, 503)
  t.match(r.json, { error: { code: 'WISP_NO_BOARD' } })
  t.equal(r.headers['retry-after'], '5')
})

t.test("over the client's invoke rate: 429 WISP_RATE_LIMITED with Retry-After", async (t) => {
  const { base } = await rig(t, { waitMs: 50, invokeRatePerClient: 0.001, invokeBurstPerClient: 2 })
  const statuses: number[] = []
  for (let i = 0; i < 2; i++) statuses.push((await postJson(`${base}async-function/echo`, {})).status)
  t.same(statuses, [202, 202], 'the burst is admitted')
  const r = await postJson(`${base}function/echo`, {})
  t.equal(r.status, 429)
  t.match(r.json, { error: { code: 'WISP_RATE_LIMITED' } })
  t.equal(r.headers['retry-after'], '1')
})

t.test('too many open requests of one client: 429 at once, the others still wait', async (t) => {
  const { base } = await rig(t, { waitMs: 1500 }, { maxPerClient: 2 })
  const held = [postJson(`${base}function/echo`, {}), postJson(`${base}function/echo`, {})]
  let r = await postJson(`${base}function/echo`, {})
  // The two held requests are open once the server has read them; until then a third may still pass.
  for (let i = 0; i < 50 && r.status !== 429; i++) r = await postJson(`${base}function/echo`, {})
  t.equal(r.status, 429)
  t.match(r.json, { error: { code: 'WISP_RATE_LIMITED', message: /requests open/ } })
  for (const h of await Promise.all(held)) t.equal(h.status, 503, 'the held ones end as usual')
})

t.test('slow clients: headers that never end are cut off; a body that stalls gets 408', async (t) => {
  const { base } = await rig(t, { waitMs: 50 }, { headersTimeoutMs: 300, bodyTimeoutMs: 300 })
  const { port } = new URL(base)
  const loris = connect(Number(port), '127.0.0.1')
  const lorisDone = closed(loris)
  loris.write('POST /function/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: 1\r\n')
  const started = Date.now()
  const said = await lorisDone
  t.ok(Date.now() - started < 5000, 'closed within seconds')
  t.match(said, /^(HTTP\/1\.1 408 [^]*)?$/, 'nothing, or a bare 408 from node:http')

  const stall = connect(Number(port), '127.0.0.1')
  const stallDone = closed(stall)
  stall.write('POST /function/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{"a"')
  const answer = await stallDone
  t.match(answer, /^HTTP\/1\.1 408/)
  t.match(answer, /"code":"WISP_BAD_PAYLOAD"/)

  const after = await postJson(`${base}function/nope`, {})
  t.equal(after.status, 404, 'the server still serves')
})

t.test('a Content-Length over the limit is refused before the body is read', async (t) => {
  const { base } = await rig(t, { waitMs: 50, maxEventBytes: 1024 })
  const r = await httpRequest(`${base}function/echo`, { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(2000) }) })
  t.equal(r.status, 413)
  t.match(r.json, { error: { code: 'WISP_PAYLOAD_TOO_LARGE', message: /limit is 1024/ } })
  const ok = await httpRequest(`${base}function/echo`, { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(900) }) })
  t.equal(ok.status, 503, 'under the limit it is admitted (and finds no board)')
})
