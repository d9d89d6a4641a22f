import fc from 'fast-check'
import t from 'tap'
import { readControl, readManifest } from '../../runtime/agent/on-message.js'
import { parseEvent } from '../../runtime/protocol/messages.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { isErrorCode } from '../../runtime/shared/errors.js'
import { inProcessBoard } from '../helpers/board.js'
import { ECHO_CODE, SEEDS, payloads, topics } from '../helpers/fuzz-arbitraries.js'
import { leaderRig, until } from '../helpers/leader-rig.js'
import { TestClient } from '../helpers/mqtt.js'

/**
 * The slice of the fuzzing that goes over the wire: malformed packets through aedes to a live
 * leader and a real agent (isolates and all) in this process. WISP_FUZZ_MQTT scales it.
 */
const N = Number(process.env.WISP_FUZZ_MQTT ?? 3000)
const seed = Number(process.env.WISP_FUZZ_SEED ?? 20261201)
const T = new Topics()
const MAX_PACKET = 1024 * 1024
const small = (a: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> => a.filter((b) => b.length <= MAX_PACKET)
const rare = fc.oneof({ weight: 19, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) })
const sample = <A>(a: fc.Arbitrary<A>, n: number, k: number): A[] => fc.sample(a, { numRuns: Math.max(1, Math.round(n)), seed: seed + k })

interface R { ok: boolean, error?: { code: string } }

t.test('malformed packets to a live leader and agent: no crash, every addressed invoke answered, memory bounded', async (t) => {
  const rig = await leaderRig()
  t.teardown(rig.close)
  await rig.deploy('echo', ECHO_CODE)
  const board = await inProcessBoard({ id: 'b1', broker: rig.broker.url, extra: { gossip_ms: 250 } })
  t.teardown(board.cleanup)
  await until(() => rig.leader.cluster.routable('b1'), 20_000, 'the board to join')
  const fuzzer = await TestClient.connect(rig.broker.url)
  t.teardown(() => fuzzer.close())
  await fuzzer.sub('wisp/result/#')
  const rssStart = process.memoryUsage().rss

  // Invokes with a reply address: each must be answered, a malformed one with its WISP_* code.
  const addressed = sample(fc.tuple(fc.constantFrom('echo', 'nope'), small(payloads(SEEDS.event))), N * 0.4, 1)
  const expected = new Map<string, string | null>()
  const packets: Array<{ topic: string, payload: Buffer, retain: boolean }> = []
  addressed.forEach(([fn, payload], i) => {
    const topic = `wisp/result/fz${i % 16}/${fn}/q${i}`
    let code: string | null = fn === 'nope' ? 'WISP_UNKNOWN_FUNCTION' : null
    if (code === null) { try { parseEvent(payload) } catch (err) { code = (err as { code: string }).code } }
    expected.set(topic, code)
    packets.push({ topic: `wisp/invoke/${fn}/fz${i % 16}/q${i}`, payload, retain: false })
  })
  const kinds: Array<[fc.Arbitrary<string>, fc.Arbitrary<Buffer>, number]> = [
    [topics(['wisp/invoke/echo', 'wisp/invoke/echo/me/r1']).filter((s) => !s.startsWith('wisp/invoke/echo/fz')), small(payloads(SEEDS.event)), 0.1],
    [topics(['wisp/boards/b1/state', 'wisp/boards/b2/state']), small(fc.oneof(payloads(SEEDS.state), payloads(SEEDS.offline))), 0.1],
    [topics(['wisp/boards/b1/done']), small(payloads(SEEDS.done)), 0.1],
    [topics(['wisp/boards/b1/run']), small(payloads(SEEDS.run)), 0.1],
    // Well-formed drain/shutdown/evict would be obeyed, as they should: only malformed controls.
    [topics(['wisp/boards/b1/control']), small(payloads(SEEDS.control)).filter((p) => readControl({ topic: '', payload: p, retain: false }).kind === 'ignore'), 0.05],
    // Nothing that would validly delete or replace the function under test.
    [topics(['wisp/functions/echo', 'wisp/functions/other']), small(payloads(SEEDS.manifest)), 0.1],
    [topics([`wisp/code/${'a'.repeat(64)}`]), small(payloads(SEEDS.manifest)), 0.05]
  ]
  kinds.forEach(([topic, payload, f], k) => {
    for (const [tp, p, retain] of sample(fc.tuple(topic, payload, rare), N * f, 10 + k)) {
      if (/[+#]/.test(tp) || tp === '' || Buffer.byteLength(tp) > 65_535) continue // not publishable (MQTT 3.1.1 §4.7.1)
      const m = readManifest({ topic: tp, payload: p, retain }, T)
      if (m.kind === 'ok' && m.value.fn === 'echo') continue
      packets.push({ topic: tp, payload: p, retain })
    }
  })
  // Shuffle deterministically so the kinds interleave on the wire.
  const order = sample(fc.shuffledSubarray(packets.map((_, i) => i), { minLength: packets.length }), 1, 99)[0] ?? []
  for (const i of order) {
    const p = packets[i]
    if (p !== undefined) await fuzzer.pub(p.topic, p.payload, { retain: p.retain, qos: 0 })
  }
  await fuzzer.waitFor(() => [...expected.keys()].every((k) => fuzzer.on(k).length > 0), 60_000)
  const wrong: string[] = []
  for (const [topic, code] of expected) {
    const r = fuzzer.on(topic)[0]?.json as R | undefined
    if (r === undefined) { wrong.push(`${topic}: no reply`); continue }
    if (!r.ok && !isErrorCode(r.error?.code)) wrong.push(`${topic}: ${String(r.error?.code)}`)
    if (code !== null && r.error?.code !== code) wrong.push(`${topic}: expected ${code}, got ${r.ok ? 'ok' : String(r.error?.code)}`)
  }
  t.same(wrong.slice(0, 10), [], `${expected.size} addressed invokes, each answered with its code (${packets.length} packets in all)`)

  // Still serving: the board is (back) online and an ordinary invoke runs on it.
  await until(() => rig.leader.cluster.routable('b1'), 10_000, 'the board to be routable')
  await fuzzer.pub('wisp/invoke/echo/after/r1', '{"still":"here"}')
  await fuzzer.waitFor(() => fuzzer.on('wisp/result/after/echo/r1').length > 0, 20_000)
  t.match(fuzzer.on('wisp/result/after/echo/r1')[0]?.json, { ok: true, result: { still: 'here' }, receipt: { board: 'b1' } })
  const grewMb = (process.memoryUsage().rss - rssStart) / 2 ** 20
  t.ok(grewMb < 256, `RSS grew ${grewMb.toFixed(0)} MB`)
  t.ok(rig.leader.inflightCount() < 50, 'the in-flight table drained')
})

t.test('a result nested deeper than the limit is answered WISP_BAD_PAYLOAD, not lost', async (t) => {
  const rig = await leaderRig()
  t.teardown(rig.close)
  await rig.deploy('deep', 'export async function handler (n) { let a = []; for (let i = 0; i < n; i++) a = [a]; return a }')
  const board = await inProcessBoard({ id: 'b2', broker: rig.broker.url })
  t.teardown(board.cleanup)
  await until(() => rig.leader.cluster.routable('b2'), 20_000, 'the board to join')
  const c = await TestClient.connect(rig.broker.url)
  t.teardown(() => c.close())
  await c.sub('wisp/result/d/#')
  await c.pub('wisp/invoke/deep/d/ok', '10')
  await c.pub('wisp/invoke/deep/d/deep', '200')
  await c.waitFor(() => c.on('wisp/result/d/deep/ok').length > 0 && c.on('wisp/result/d/deep/deep').length > 0, 20_000)
  t.match(c.on('wisp/result/d/deep/ok')[0]?.json, { ok: true })
  t.match(c.on('wisp/result/d/deep/deep')[0]?.json, { ok: false, error: { code: 'WISP_BAD_PAYLOAD', message: /deeper than 64/ }, receipt: { board: 'b2' } })
})
