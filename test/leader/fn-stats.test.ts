import t from 'tap'
import { FnStats, RECENT_ERRORS } from '../../runtime/leader/fn-stats.js'
import { redactSecrets } from '../../runtime/leader/redact.js'
import type { Completion } from '../../runtime/leader/leader.js'

const receipt = (carbon?: number): NonNullable<Completion['reply']['receipt']> => ({
  request_id: 'r', function: 'f', board: 'b1', attempt: 0, cold: false, queue_ms: 0, run_ms: 1, total_ms: 1, energy_mj: 3, power_w: 1,
  ...(carbon === undefined ? {} : { carbon_mg: carbon })
})
const ok = (i: number, carbon?: number): Completion => ({ fn: 'f', requestId: `r${i}`, replyTopic: null, board: 'b1', reply: { ok: true, result: 1, receipt: receipt(carbon) }, totalMs: 5 })
const failed = (i: number): Completion => ({ fn: 'f', requestId: `e${i}`, replyTopic: null, board: 'b2', reply: { ok: false, error: { code: 'WISP_FUNCTION_ERROR', message: `boom ${i}` }, receipt: receipt(0.0003) }, totalMs: 5 })

t.test('carbon per invocation and in total come from receipts that carry it', async (t) => {
  const s = new FnStats()
  s.record(ok(1), 1) // a receipt without carbon (no intensity configured) counts for energy only
  t.equal(s.view('f').carbon_mg_per_invocation, null)
  s.record(ok(2, 0.000_123_4), 2)
  s.record(ok(3, 0.000_234_5), 3)
  const v = s.view('f')
  t.equal(v.carbon_mg_per_invocation, 0.000179, 'mean of the receipts with carbon, three significant digits')
  t.equal(v.carbon_mg_total, 0.000358)
  t.equal(v.energy_mj_per_invocation, 3)
  t.equal(s.view('g').carbon_mg_total, null, 'a function never run has none')
})

t.test('the newest failures are kept, newest first, bounded; forget drops them', async (t) => {
  const s = new FnStats()
  for (let i = 1; i <= RECENT_ERRORS + 2; i++) { s.record(failed(i), 1000 + i); s.record(ok(i), 1000 + i) }
  const e = s.recentErrors('f')
  t.equal(e.length, RECENT_ERRORS)
  t.same(e[0], { code: 'WISP_FUNCTION_ERROR', message: `boom ${RECENT_ERRORS + 2}`, at: 1000 + RECENT_ERRORS + 2, request_id: `e${RECENT_ERRORS + 2}`, board: 'b2' })
  t.equal(e.at(-1)?.message, 'boom 3', 'the oldest went first')
  t.equal(s.view('f').errors, RECENT_ERRORS + 2, 'the count is not bounded')
  s.forget('f')
  t.same(s.recentErrors('f'), [])
})

t.test('secret values are redacted from shown messages, longest first', async (t) => {
  t.equal(redactSecrets('key sk-12345 and sk-1', { LONG: 'sk-12345', SHORT: 'sk-1' }), 'key [secret LONG] and [secret SHORT]')
  t.equal(redactSecrets('nothing here', undefined), 'nothing here')
  t.equal(redactSecrets('a', { EMPTY: '' }), 'a')
})
