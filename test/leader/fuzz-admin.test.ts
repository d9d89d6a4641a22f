import fc from 'fast-check'
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway } from '../../runtime/gateway/main.js'
import { maxPayloadBytes } from '../../runtime/leader/broker-limits.js'
import { parseAdminRequest } from '../../runtime/protocol/admin.js'
import { parseCapRequest } from '../../runtime/protocol/capabilities.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { isErrorCode } from '../../runtime/shared/errors.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { inProcessBoard } from '../helpers/board.js'
import { ECHO_CODE, payloads, topics } from '../helpers/fuzz-arbitraries.js'
import { until } from '../helpers/leader-rig.js'
import { TestClient } from '../helpers/mqtt.js'

/**
 * The topics that came after the first fuzzing (admin requests, handler capability calls, the
 * grid's carbon and power-cap messages), malformed, through the embedded broker of a whole
 * gateway (broker limits, admin service, capability server, leader). WISP_FUZZ_ADMIN scales it.
 */
const N = Number(process.env.WISP_FUZZ_ADMIN ?? 2000)
const seed = Number(process.env.WISP_FUZZ_SEED ?? 20261202)
const T = new Topics()
const sample = <A>(a: fc.Arbitrary<A>, n: number, k: number): A[] => fc.sample(a, { numRuns: Math.max(1, Math.round(n)), seed: seed + k })

const ADMIN_SEEDS = [
  { v: 1, op: 'describe', fn: 'other' },
  { v: 1, op: 'logs', fn: 'echo', since: 0 },
  { v: 1, op: 'secret-set', fn: 'other', name: 'API_KEY', value: 'v' },
  { v: 1, op: 'secret-ls', fn: 'other' },
  { v: 1, op: 'rollback', fn: 'other', to: 1 },
  { v: 1, op: 'ls' }
] as const
const CAP_SEED = { v: 1, id: 7, invocation: 'i1', budget_ms: 1000, call: { op: 'kv.get', key: 'k' } }
const GRID_SEEDS = { carbon: { g_per_kwh: 120, forecast: [{ at: 0, g_per_kwh: 90 }] }, cap: { watts: 30 } }

interface Reply { ok: boolean, error?: { code: string } }

t.test('malformed admin requests, capability calls and grid messages: no crash, every admin request and every well-formed capability call answered with a WISP_* code', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-fuzz-admin-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const gw = await startGateway({ dataDir: dir, mqttPort: 0, httpPort: null, log: silentLogger })
  t.teardown(gw.close)
  const echo = buildManifest('echo', ECHO_CODE)
  await publishDeployment(gw.transport, T, echo, ECHO_CODE)
  const board = await inProcessBoard({ id: 'b1', broker: gw.url })
  t.teardown(board.cleanup)
  await until(() => gw.leader.cluster.routable('b1') && gw.registry.get('echo') !== undefined, 20_000, 'the board to join')
  const fuzzer = await TestClient.connect(gw.url)
  t.teardown(() => fuzzer.close())
  await fuzzer.sub('wisp/admin/+/+/reply')
  await fuzzer.sub('wisp/boards/+/cap-reply')
  const rssStart = process.memoryUsage().rss
  const dropped: string[] = []
  let last = ''
  fuzzer.client.on('close', () => { dropped.push(last) })
  // The broker closes a connection that sends a PUBLISH over its topic's limit (test/security/packet-size.test.ts).
  const fits = (topic: string, p: Buffer): boolean => p.length <= maxPayloadBytes(T, topic)

  const packets: Array<{ topic: string, payload: Buffer, retain: boolean }> = []
  // Admin requests with a valid address: each gets exactly one reply; a malformed one the code parsing gives.
  const expected = new Map<string, string | null>()
  const sent = new Map<string, Buffer>()
  const destructive = (p: Buffer): boolean => { try { const r = parseAdminRequest(p); return 'fn' in r && r.fn === 'echo' && r.op !== 'logs' && r.op !== 'describe' } catch { return false } }
  const adminPayloads = fc.oneof(...ADMIN_SEEDS.map((s) => payloads(s)))
  sample(adminPayloads, N * 0.5, 1).forEach((payload, i) => {
    const topic = `wisp/admin/fz${i % 8}/q${i}`
    if (!fits(topic, payload) || destructive(payload)) return
    let code: string | null = null
    try { parseAdminRequest(payload) } catch (err) { code = (err as { code: string }).code }
    expected.set(`${topic}/reply`, code)
    sent.set(`${topic}/reply`, payload)
    packets.push({ topic, payload, retain: false })
  })
  // Capability calls from "board b1" for invocations it does not run: every parsable one is refused in words.
  let capsParsable = 0
  for (const [topic, payload, retain] of sample(fc.tuple(topics(['wisp/boards/b1/cap', 'wisp/boards/b2/cap']), payloads(CAP_SEED), fc.boolean()), N * 0.3, 2)) {
    if (/[+#]/.test(topic) || topic === '' || Buffer.byteLength(topic) > 65_535 || !fits(topic, payload)) continue
    let well = false
    try { well = !retain && T.parse(topic).kind === 'board' && topic.endsWith('/cap') && parseCapRequest(payload) !== undefined } catch { well = false }
    if (well) capsParsable++
    packets.push({ topic, payload, retain })
  }
  // Grid messages (and mangled admin topics): nothing to answer, nothing to break.
  const rest = fc.tuple(fc.oneof(
    fc.tuple(topics(['wisp/grid/carbon']), payloads(GRID_SEEDS.carbon)),
    fc.tuple(topics(['wisp/grid/cap']), payloads(GRID_SEEDS.cap)),
    fc.tuple(topics(['wisp/admin/fz/r1', 'wisp/admin/fz/r1/reply', 'wisp/logs/echo']), adminPayloads)
  ), fc.boolean())
  for (const [[topic, payload], retain] of sample(rest, N * 0.2, 3)) {
    if (/[+#]/.test(topic) || topic === '' || Buffer.byteLength(topic) > 65_535 || !fits(topic, payload)) continue
    if (topic.startsWith('wisp/admin/') && destructive(payload)) continue
    // Retained or not, on mangled admin and log topics too: such a QoS 0 message overtaking a QoS 1
    // reply made aedes drop the reply (runtime/leader/broker-dedupe.ts; test/leader/broker-dedupe.test.ts).
    packets.push({ topic, payload, retain })
  }
  const order = sample(fc.shuffledSubarray(packets.map((_, i) => i), { minLength: packets.length }), 1, 99)[0] ?? []
  for (const i of order) {
    const p = packets[i]
    if (p !== undefined) { last = `${p.topic} ${p.payload.length}B ${p.payload.toString('utf8').slice(0, 60)}`; await fuzzer.pub(p.topic, p.payload, { retain: p.retain, qos: 0 }) }
  }
  t.same(dropped.slice(0, 5), [], 'the broker kept the fuzzer connected')
  await fuzzer.waitFor(() => [...expected.keys()].every((k) => fuzzer.on(k).length > 0), 15_000).catch(() => {})
  const wrong: string[] = []
  for (const [topic, code] of expected) {
    const rs = fuzzer.on(topic)
    const r = rs[0]?.json as Reply | undefined
    if (r === undefined) { wrong.push(`${topic}: no reply to ${JSON.stringify(sent.get(topic)?.toString('utf8').slice(0, 120))}`); continue }
    if (rs.length > 1) wrong.push(`${topic}: ${rs.length} replies`)
    if (!r.ok && !isErrorCode(r.error?.code)) wrong.push(`${topic}: ${String(r.error?.code)}`)
    if (code !== null && r.error?.code !== code) wrong.push(`${topic}: expected ${code}, got ${r.ok ? 'ok' : String(r.error?.code)}`)
  }
  // Once lost here: the fuzzer's QoS 0 messages on reply topics overtook QoS 1 replies (runtime/leader/broker-dedupe.ts).
  t.same(wrong.slice(0, 10), [], `${expected.size} addressed admin requests, each answered once with its code (${packets.length} packets in all)`)
  await fuzzer.waitFor((r) => r.filter((m) => m.topic === 'wisp/boards/b1/cap-reply').length >= capsParsable, 5000).catch(() => {})
  const capReplies = fuzzer.received.filter((m) => m.topic.endsWith('/cap-reply')).map((m) => m.json as { result?: Reply } | null)
  t.equal(capReplies.length, capsParsable, `each of the ${capsParsable} parsable capability calls was answered, the malformed ones ignored`)
  t.ok(capReplies.every((r) => r?.result?.ok === false && isErrorCode(r.result.error?.code)), 'and refused with a WISP_* code (no such invocation runs there)')

  // Still serving: the cap lifted, an admin listing and an ordinary invoke are answered.
  await fuzzer.pub('wisp/grid/cap', '{"watts":null}')
  await until(() => gw.leader.green.capW === null, 5000, 'the cap to lift')
  await fuzzer.pub('wisp/admin/after/ls1', '{"v":1,"op":"ls"}')
  await fuzzer.sub('wisp/result/after/#')
  await fuzzer.pub('wisp/invoke/echo/after/r1', '{"still":"here"}')
  await fuzzer.waitFor(() => fuzzer.on('wisp/admin/after/ls1/reply').length > 0 && fuzzer.on('wisp/result/after/echo/r1').length > 0, 20_000)
  t.match(fuzzer.on('wisp/admin/after/ls1/reply')[0]?.json, { ok: true })
  t.match(fuzzer.on('wisp/result/after/echo/r1')[0]?.json, { ok: true, result: { still: 'here' }, receipt: { board: 'b1' } })
  t.equal(gw.registry.get('echo')?.sha256, echo.sha256, 'echo is as deployed')
  const grewMb = (process.memoryUsage().rss - rssStart) / 2 ** 20
  t.ok(grewMb < 256, `RSS grew ${grewMb.toFixed(0)} MB`)
})
