import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { startGateway, type Gateway } from '../../runtime/gateway/main.js'
import { buildManifest, type DeployOptions } from '../../runtime/protocol/manifest.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { silentLogger } from '../../runtime/shared/log.js'
import type { Completion } from '../../runtime/leader/leader.js'
import { inProcessBoard } from '../helpers/board.js'
import { until } from '../helpers/leader-rig.js'
import { TestClient } from '../helpers/mqtt.js'
import { freePort } from '../helpers/ports.js'
import { httpRequest, postJson } from '../helpers/http.js'

const HELLO = 'export async function handler (event) { return { hello: event?.name ?? "world" } }'
const BOOM = 'export async function handler () { throw new Error("kaput") }'
const SPIN = 'export async function handler () { for (;;) {} }'
const COUNT = 'let n = 0\nexport async function handler (event) { n += 1; await new Promise((r) => setTimeout(r, event?.ms ?? 0)); return { n } }'

const deploy = async (gw: Gateway, fn: string, code: string, opts?: DeployOptions): Promise<void> => {
  const m = buildManifest(fn, code, opts)
  await publishDeployment(gw.transport, gw.topics, m, code)
  await until(() => gw.registry.get(fn)?.sha256 === m.sha256, 5000, `deploy of ${fn}`)
}

t.test('HTTP invokes on a real gateway and a real board, open mode', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-http-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const gw = await startGateway({ dataDir: dir, mqttPort: await freePort(), httpPort: null, invokePort: 0, log: silentLogger })
  t.teardown(gw.close)
  const base = gw.invokeUrl as string
  t.match(base, /^http:\/\/127\.0\.0\.1:\d+\/$/, 'served on loopback')
  const board = await inProcessBoard({ id: 'b1', broker: gw.url })
  t.teardown(board.cleanup)
  await until(() => gw.leader.cluster.routable('b1'), 15_000, 'b1 to join')
  await deploy(gw, 'hello', HELLO)
  await deploy(gw, 'boom', BOOM)
  await deploy(gw, 'spin', SPIN, { timeout_ms: 300 })
  await deploy(gw, 'count', COUNT)
  const completions: Completion[] = []
  gw.leader.onCompletion((c) => completions.push(c))

  t.test('curl -X POST /function/hello answers with the result and a receipt header', async (t) => {
    const { stdout } = await promisify(execFile)('curl', ['-si', '-X', 'POST', `${base}function/hello`])
    const [head = '', body = ''] = stdout.split('\r\n\r\n')
    t.match(head, /^HTTP\/1\.1 200 OK/)
    t.match(head, /\r\nx-wisp-request-id: h[A-Za-z0-9_-]{16}\r\n/i, 'a fresh request id')
    t.match(head, /\r\nx-wisp-board: b1\r\n/i)
    t.same(JSON.parse(body), { hello: 'world' }, 'no body: the event is null')
  })

  t.test('a JSON event comes back with every receipt header', async (t) => {
    const r = await postJson(`${base}function/hello`, { name: 'ada' })
    t.equal(r.status, 200)
    t.same(r.json, { hello: 'ada' })
    t.equal(r.headers['content-type'], 'application/json; charset=utf-8')
    t.equal(r.headers['x-wisp-board'], 'b1')
    t.match(r.headers['x-wisp-attempt'], /^\d+$/)
    t.match(r.headers['x-wisp-cold'], /^(true|false)$/)
    for (const h of ['x-wisp-queue-ms', 'x-wisp-run-ms', 'x-wisp-total-ms', 'x-wisp-energy-mj']) t.ok(Number.isFinite(Number(r.headers[h])) && r.headers[h] !== '', `${h} is a number`)
    t.notOk(r.headers['access-control-allow-origin'], 'no CORS')
  })

  t.test('each error code has its status and a {error:{code,message}} body', async (t) => {
    const cases: Array<[string, Parameters<typeof httpRequest>[1], number, string]> = [
      ['function/nope', { headers: {} }, 404, 'WISP_UNKNOWN_FUNCTION'],
      ['function/hello', { headers: { 'content-type': 'application/json' }, body: '{"name":' }, 400, 'WISP_BAD_PAYLOAD'],
      ['function/hello', { headers: { 'content-type': 'application/json' }, body: '['.repeat(100) + ']'.repeat(100) }, 400, 'WISP_BAD_PAYLOAD'],
      ['function/hello', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(256 * 1024) }) }, 413, 'WISP_PAYLOAD_TOO_LARGE'],
      ['function/Bad_Name', { headers: {} }, 400, 'WISP_BAD_PAYLOAD'],
      ['function/hello', { headers: { 'content-type': 'text/plain' }, body: '{}' }, 415, 'WISP_BAD_PAYLOAD'],
      ['function/hello', { headers: { origin: 'https://evil.example', 'content-type': 'application/json' }, body: '{}' }, 403, 'WISP_UNAUTHORIZED'],
      ['function/hello', { headers: { 'sec-fetch-site': 'cross-site' } }, 403, 'WISP_UNAUTHORIZED'],
      ['function/hello', { headers: { host: 'evil.example' } }, 421, 'WISP_UNAUTHORIZED'],
      ['function/hello', { headers: { 'x-wisp-request-id': 'no/slash' } }, 400, 'WISP_BAD_PAYLOAD'],
      ['other/hello', { headers: {} }, 404, 'WISP_BAD_PAYLOAD'],
      ['function/boom', { headers: {} }, 500, 'WISP_FUNCTION_ERROR'],
      ['function/spin', { headers: {} }, 504, 'WISP_TIMEOUT']
    ]
    for (const [path, o, status, code] of cases) {
      const r = await httpRequest(`${base}${path}`, o)
      t.equal(r.status, status, `${path} ${JSON.stringify(o?.headers)} → ${status}`)
      t.match(r.json, { error: { code, message: String } }, `${path} → ${code}`)
    }
    const get = await httpRequest(`${base}function/hello`, { method: 'GET' })
    t.equal(get.status, 405)
    t.equal(get.headers.allow, 'POST')
    t.match(get.json, { error: { code: 'WISP_BAD_PAYLOAD' } })
    const boom = await httpRequest(`${base}function/boom`)
    t.equal(boom.headers['x-wisp-board'], 'b1', 'a failed run still has its receipt')
    t.match(boom.json, { error: { message: /kaput/ } })
  })

  t.test('an oversized chunked body is cut off at the limit with 413', async (t) => {
    const big = Buffer.alloc(600 * 1024, 0x20)
    const r = await httpRequest(`${base}function/hello`, { headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, body: big })
    t.equal(r.status, 413)
    t.match(r.json, { error: { code: 'WISP_PAYLOAD_TOO_LARGE' } })
  })

  t.test('X-Wisp-Request-Id deduplicates: concurrent copies share one run, a later copy is 409', async (t) => {
    const before = completions.filter((c) => c.fn === 'count').length
    const [a, b] = await Promise.all([
      postJson(`${base}function/count`, { ms: 300 }, { 'x-wisp-request-id': 'dup-1' }),
      postJson(`${base}function/count`, { ms: 300 }, { 'x-wisp-request-id': 'dup-1' })
    ])
    t.equal(a.status, 200); t.equal(b.status, 200)
    t.same(a.json, b.json, 'both copies got the one result')
    t.equal(a.headers['x-wisp-request-id'], 'dup-1')
    const again = await postJson(`${base}function/count`, { ms: 0 }, { 'x-wisp-request-id': 'dup-1' })
    t.equal(again.status, 409)
    t.match(again.json, { error: { code: 'WISP_BAD_PAYLOAD', message: /already used/ } })
    t.equal(completions.filter((c) => c.fn === 'count').length - before, 1, 'the function ran once')
  })

  t.test('a waiting request is answered by the leader\'s completion, not by whatever is published on its result topic', async (t) => {
    const other = await TestClient.connect(gw.url)
    t.teardown(() => other.close())
    const before = gw.leader.inflightCount()
    const pending = postJson(`${base}function/count`, { ms: 400 }, { 'x-wisp-request-id': 'forged-1' })
    await until(() => gw.leader.inflightCount() > before, 5000, 'the invocation to be in flight')
    // Open mode: any client may publish anywhere, here a reply of its own on the request's result topic.
    await other.pub('wisp/result/http/count/forged-1', JSON.stringify({ ok: true, result: { n: -1 } }))
    const r = await pending
    t.equal(r.status, 200)
    t.match(r.json, { n: Number })
    t.ok((r.json as { n: number }).n > 0, `the function's own result (n = ${String((r.json as { n: number }).n)}), not the published one`)
    t.equal(r.headers['x-wisp-board'], 'b1', 'with its receipt')
  })

  t.test('async-function answers 202 at once; the result arrives on the MQTT result topic', async (t) => {
    const sub = await TestClient.connect(gw.url)
    t.teardown(() => sub.close())
    await sub.sub('wisp/result/http/#')
    const r = await postJson(`${base}async-function/count`, { ms: 200 }, { 'x-wisp-request-id': 'later-1' })
    t.equal(r.status, 202)
    t.same(r.json, { request_id: 'later-1' })
    t.equal(completions.some((c) => c.requestId === 'later-1'), false, 'answered before the run finished')
    const got = await sub.waitFor((m) => m.some((x) => x.topic === 'wisp/result/http/count/later-1'), 10_000)
    t.match(got.find((x) => x.topic === 'wisp/result/http/count/later-1')?.json, { ok: true, result: { n: Number }, receipt: { request_id: 'later-1', board: 'b1' } })
    const refused = await postJson(`${base}async-function/nope`, {})
    t.equal(refused.status, 404, 'a refusal at admission is answered at once, not 202')
    t.match(refused.headers['x-wisp-request-id'], /^h/, 'with the request id it was given')
  })
})

t.test('HTTP invokes are loopback-only without accounts', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-http-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  await t.rejects(startGateway({ dataDir: dir, mqttPort: await freePort(), httpPort: null, invokePort: 0, invokeHost: '0.0.0.0', log: silentLogger }),
    { code: 'WISP_BAD_CONFIG', message: /invoke_host/ })
})
