import t from 'tap'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { addVersion, currentVersion, makeCurrent, rollbackTarget } from '../../runtime/leader/versions.js'
import { FnStats } from '../../runtime/leader/fn-stats.js'
import { LogRing } from '../../runtime/leader/log-ring.js'
import type { History } from '../../runtime/protocol/admin.js'

const m = (n: number): ReturnType<typeof buildManifest> => buildManifest('f', `export async function handler () { return ${n} }`)

t.test('every deploy is a new version; only the newest are kept', async (t) => {
  let h: History | undefined
  for (let n = 1; n <= 13; n++) h = addVersion(h, 'f', m(n), 1000 + n, n % 2 === 0 ? 'ops' : null, 10)
  t.equal(h?.current, 13)
  t.same(h?.versions.map((v) => v.version), [4, 5, 6, 7, 8, 9, 10, 11, 12, 13])
  t.match(currentVersion(h), { version: 13, at: 1013, by: null, sha256: m(13).sha256, size: m(13).size })
  const same = addVersion(h, 'f', m(13), 2000, 'ops', 10)
  t.equal(same.current, 14, 'the same code deployed again is a new version too')
})

t.test('rollback: the version before the current, or the one asked for; a clear error otherwise', async (t) => {
  let h = addVersion(undefined, 'f', m(1), 1, null)
  t.throws(() => rollbackTarget(h, 'f'), { code: 'WISP_BAD_CONFIG', message: /no version older than 1/ })
  h = addVersion(addVersion(h, 'f', m(2), 2, null), 'f', m(3), 3, null)
  t.equal(rollbackTarget(h, 'f').version, 2)
  h = makeCurrent(h, 2)
  t.equal(rollbackTarget(h, 'f').version, 1, 'a second rollback goes one further back')
  t.equal(rollbackTarget(h, 'f', 3).version, 3, '--to may also go forward')
  t.throws(() => rollbackTarget(h, 'f', 9), { code: 'WISP_BAD_CONFIG', message: /no version 9; the gateway keeps versions 1, 2, 3/ })
  t.throws(() => rollbackTarget(undefined, 'g'), { code: 'WISP_UNKNOWN_FUNCTION' })
})

t.test('per-function figures and the bounded log ring', async (t) => {
  const s = new FnStats()
  t.same(s.view('f'), { invocations: 0, errors: 0, p50_ms: null, p99_ms: null, energy_mj_per_invocation: null, carbon_mg_per_invocation: null, carbon_mg_total: null })
  const receipt = { request_id: 'r', function: 'f', board: 'b1', attempt: 0, cold: false, queue_ms: 0, run_ms: 1, total_ms: 1, energy_mj: 2, power_w: 1 }
  for (let i = 1; i <= 100; i++) s.record({ fn: 'f', requestId: `r${i}`, replyTopic: null, board: 'b1', reply: { ok: true, result: 1, receipt }, totalMs: i }, i)
  s.record({ fn: 'f', requestId: 'x', replyTopic: null, board: null, reply: { ok: false, error: { code: 'WISP_NO_BOARD', message: 'none' } }, totalMs: 1000 }, 1000)
  t.same(s.view('f'), { invocations: 101, errors: 1, p50_ms: 51, p99_ms: 100, energy_mj_per_invocation: 2, carbon_mg_per_invocation: null, carbon_mg_total: null })
  const ring = new LogRing(3)
  ring.add('f', [1, 2, 3, 4].map((i) => ({ at: i * 10, level: 'log' as const, board: 'b1', request_id: 'r', text: `l${i}` })))
  t.same(ring.read('f').map((l) => l.text), ['l2', 'l3', 'l4'], 'the oldest lines go first')
  t.same(ring.read('f', 30).map((l) => l.text), ['l3', 'l4'], '--since')
  t.same(ring.read('f', 0, 3).map((l) => l.text), ['l4'], 'after a sequence number')
})
