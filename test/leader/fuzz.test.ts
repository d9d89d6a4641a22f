import { createHash } from 'node:crypto'
import fc from 'fast-check'
import t from 'tap'
import { loadProfiles } from '../../boards/index.js'
import { readControl, readManifest, readRun } from '../../runtime/agent/on-message.js'
import { ClusterState } from '../../runtime/leader/cluster-state.js'
import type { Invocation } from '../../runtime/leader/inflight.js'
import { readDone } from '../../runtime/leader/on-done.js'
import { admitInvoke } from '../../runtime/leader/on-invoke.js'
import { readState } from '../../runtime/leader/on-state.js'
import { codeProblem } from '../../runtime/protocol/code.js'
import { MAX_JSON_DEPTH, jsonDepth } from '../../runtime/protocol/json-limits.js'
import { encode } from '../../runtime/protocol/messages.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { systemClock } from '../../runtime/shared/clock.js'
import { isErrorCode } from '../../runtime/shared/errors.js'
import type { InboundMessage } from '../../runtime/transport/transport.js'
import { ECHO_CODE, SEEDS, echo, payloads, topics } from '../helpers/fuzz-arbitraries.js'

/** 100,000 in all by default; WISP_FUZZ_RUNS scales it (e.g. 1000000 for a long soak). */
const TOTAL = Number(process.env.WISP_FUZZ_RUNS ?? 100_000)
const share = (f: number): number => Math.max(100, Math.round(TOTAL * f))
const seed = Number(process.env.WISP_FUZZ_SEED ?? 20261201)
const params = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, seed, endOnFailure: true })

const T = new Topics()
const msg = (topic: string, payload: Buffer, retain = false, responseTopic?: string): InboundMessage =>
  responseTopic === undefined ? { topic, payload, retain } : { topic, payload, retain, responseTopic, correlationData: Buffer.from('c') }
const rare = fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) })
const rssStart = process.memoryUsage().rss
let runs = 0

t.test('invoke: never throws; every malformed invoke with a reply address is answered with a WISP_* code', async (t) => {
  const responseTopic = fc.option(fc.oneof(fc.constantFrom('wisp/result/me/x', 'app/replies/1', 'wisp/boards/b1/run', 'a/+/b', ''), fc.string({ maxLength: 30 })), { freq: 5 })
  const n = share(0.35)
  fc.assert(fc.property(topics(['wisp/invoke/echo/me/r1', 'wisp/invoke/echo', 'wisp/invoke/nope/me/r-2_X']), payloads(SEEDS.event), rare, responseTopic, (topic, payload, retain, rt) => {
    const out = admitInvoke(msg(topic, payload, retain, rt ?? undefined), {
      topics: T, manifest: (fn) => fn === 'echo' ? echo : undefined, now: 0, waitMs: 1000, maxEventBytes: 256 * 1024, isDuplicate: () => false
    })
    if (out.kind === 'reject') return isErrorCode(out.error.code)
    if (out.kind === 'accept') return jsonDepth(encode(out.invocation.event)) <= MAX_JSON_DEPTH
    let parsed
    try { parsed = T.parse(topic) } catch { return true }
    const addressed = parsed.kind === 'invoke' && (parsed.req !== undefined || (rt !== null && rt !== ''))
    return retain || !addressed
  }), params(n))
  runs += n
  t.pass(`${n} invokes`)
})

t.test('state: never throws; only the topic\'s board is ever updated; the cluster view stays sound', async (t) => {
  const cluster = new ClusterState(systemClock, loadProfiles(), 3500)
  const n = share(0.15)
  fc.assert(fc.property(topics(['wisp/boards/b1/state', 'wisp/boards/b2/state']), fc.oneof(payloads(SEEDS.state), payloads(SEEDS.offline)), rare, (topic, payload, retain) => {
    const out = readState(msg(topic, payload, retain), T)
    if (out.kind === 'ignore') return true
    if (topic !== `wisp/boards/${out.state.id}/state`) return false
    cluster.onState(out.state)
    cluster.sweep()
    return cluster.view().boards.length <= 256
  }), params(n))
  runs += n
  t.pass(`${n} states`)
})

t.test('done: never throws; counts only from the board and attempt the run went to', async (t) => {
  const inv = { invocation: 'i1', board: 'b1', attempt: 0 } as unknown as Invocation
  const n = share(0.15)
  fc.assert(fc.property(topics(['wisp/boards/b1/done', 'wisp/boards/b2/done']), payloads(SEEDS.done), rare, (topic, payload, retain) => {
    const out = readDone(msg(topic, payload, retain), T, (id) => id === 'i1' ? inv : undefined)
    if (out.kind === 'ignore' || out.inv === null) return true
    return topic === 'wisp/boards/b1/done' && !retain && (out.state === undefined || out.state.id === 'b1')
  }), params(n))
  runs += n
  t.pass(`${n} dones`)
})

t.test('run, control, functions: the board\'s readers never throw and pass on only what re-encodes', async (t) => {
  const n = share(0.1)
  fc.assert(fc.property(payloads(SEEDS.run), rare, (payload, retain) => {
    const r = readRun(msg('wisp/boards/b1/run', payload, retain))
    return r.kind === 'ignore' || (encode(r.value).length > 0 && r.value.budget_ms > 0)
  }), params(n))
  fc.assert(fc.property(payloads(SEEDS.control), rare, (payload, retain) => {
    const r = readControl(msg('wisp/boards/b1/control', payload, retain))
    return r.kind === 'ignore' || !retain
  }), params(n))
  fc.assert(fc.property(topics(['wisp/functions/echo']), payloads(SEEDS.manifest), (topic, payload) => {
    const r = readManifest(msg(topic, payload), T)
    return r.kind === 'ignore' || r.value.manifest === null || topic.endsWith(`/${r.value.manifest.name}`)
  }), params(n))
  runs += 3 * n
  t.pass(`${3 * n} runs, controls and manifests`)
})

t.test('code: never throws; accepted only at the manifest\'s size and hash', async (t) => {
  const n = share(0.05)
  const blobs = fc.oneof(payloads(SEEDS.manifest), fc.constant(Buffer.from(ECHO_CODE)))
  fc.assert(fc.property(fc.oneof(fc.constant(echo.sha256), fc.string({ maxLength: 70 })), blobs, fc.option(fc.nat({ max: 2_000_000 })), (sha, blob, size) => {
    const why = codeProblem(sha, blob, size ?? undefined)
    return why !== null || (createHash('sha256').update(blob).digest('hex') === sha && (size === null || size === blob.length))
  }), params(n))
  runs += n
  t.pass(`${n} code blobs`)
})

t.test('in all: the planned number of payloads, in bounded memory', async (t) => {
  t.ok(runs >= TOTAL * 0.99, `${runs} payloads`)
  const grewMb = (process.memoryUsage().rss - rssStart) / 2 ** 20
  t.ok(grewMb < 256, `RSS grew ${grewMb.toFixed(0)} MB`)
})
