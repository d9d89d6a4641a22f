import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InflightStore } from '../../runtime/leader/inflight-store.js'
import type { Invocation } from '../../runtime/leader/inflight.js'
import { recoverInvocations } from '../../runtime/leader/recover.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { silentLogger } from '../../runtime/shared/log.js'

const manifest = buildManifest('f', 'export async function handler () { return 1 }', { timeout_ms: 1000 })
const inv = (id: string, over: Partial<Invocation> = {}): Invocation => ({
  invocation: id, requestId: `r-${id}`, dedupeKey: `c/f/r-${id}`, fn: 'f', manifest, event: { id }, eventBytes: 10,
  reply: { topic: `wisp/result/c/f/r-${id}`, correlationData: Buffer.from('cafe', 'hex') },
  receivedAt: 1000, deadline: 12_000, attempt: 0, board: 'b1', sentTo: ['b1'], dispatchedAt: 1000, timer: null, ...over
})

t.test('the in-flight table survives a reopen: unanswered invocations and the dedupe window come back', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-store-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  let s = await InflightStore.open(dir, silentLogger, { rememberMs: 60_000 })
  await s.accepted(inv('a'), 1000)
  await s.accepted(inv('b'), 1000)
  const c = inv('c')
  await s.accepted(c, 1000)
  c.attempt = 1
  await s.accepted(c, 2000) // a retry rewrites the attempt
  s.answered('b')
  await s.close()
  s = await InflightStore.open(dir, silentLogger, { rememberMs: 60_000 })
  await t.rejects(InflightStore.open(dir, silentLogger), { code: 'WISP_BAD_CONFIG', message: /another wisp process is using the data folder/ }, 'a second opener is refused in words')
  t.teardown(() => s.close())
  const r = await s.recover(5000)
  t.same(r.invocations.map((x) => [x.invocation, x.attempt]), [['a', 0], ['c', 1]])
  t.same(r.invocations[0]?.reply, { topic: 'wisp/result/c/f/r-a', correlationData: 'cafe' })
  t.same(r.seen.map(([k]) => k).sort(), ['c/f/r-a', 'c/f/r-b', 'c/f/r-c'], 'answered requests stay in the dedupe window')
  t.same((await s.recover(1000 + 60_000)).seen, [], 'keys older than the window are dropped')
})

t.test('recovery: resume on a new attempt, answer WISP_TIMEOUT past deadline + grace, WISP_UNKNOWN_FUNCTION if redeployed', async (t) => {
  const stored = (id: string, deadline: number, sha = manifest.sha256) => ({ invocation: id, requestId: `r-${id}`, dedupeKey: null, fn: 'f', sha256: sha, event: {}, reply: { topic: `wisp/result/c/f/r-${id}` }, receivedAt: 0, deadline, attempt: 1 })
  const r = recoverInvocations({ invocations: [stored('live', 20_000), stored('late', 7000), stored('old', 20_000, '0'.repeat(64))], seen: [] }, { now: 10_000, graceMs: 2000, manifest: (fn) => fn === 'f' ? manifest : undefined })
  t.same(r.resume.map((x) => [x.invocation, x.attempt, x.board]), [['live', 2, null]])
  t.equal(r.resume[0]?.manifest, manifest)
  t.same(r.answer.map((a) => [a.invocation, a.reply.ok ? 'ok' : a.reply.error.code, a.to?.topic]), [
    ['late', 'WISP_TIMEOUT', 'wisp/result/c/f/r-late'],
    ['old', 'WISP_UNKNOWN_FUNCTION', 'wisp/result/c/f/r-old']
  ])
})

t.test('a deferred invocation keeps its options and window across a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-store-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  let s = await InflightStore.open(dir, silentLogger)
  await s.accepted(inv('d', { board: null, options: { deferrable: true, deadlineMs: 3_600_000, budgetMj: 50 }, notBefore: 90_000, latestStart: 3_000_000, deadline: 3_601_000 }), 1000)
  await s.close()
  s = await InflightStore.open(dir, silentLogger)
  t.teardown(() => s.close())
  const r = recoverInvocations(await s.recover(5000), { now: 5000, graceMs: 2000, manifest: () => manifest })
  t.match(r.resume[0], { invocation: 'd', options: { deferrable: true, deadlineMs: 3_600_000, budgetMj: 50 }, notBefore: 90_000, latestStart: 3_000_000 })
})
