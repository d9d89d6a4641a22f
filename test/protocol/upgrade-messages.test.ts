import t from 'tap'
import { parseAdminRequest } from '../../runtime/protocol/admin.js'
import { parseBoardState, parseControl } from '../../runtime/protocol/messages.js'

const buf = (x: unknown): Buffer => Buffer.from(JSON.stringify(x))
const state = (over: Record<string, unknown>): Buffer => buf({
  v: 1, id: 'b1', incarnation: '00000000a-aaaaaa', profile: 'raspberry-pi-4b', status: 'online', ts: 1, power_w: 1, energy_j: 0,
  queue_len: 0, service_rate: 0, functions: {}, mem_mb: 0, power_source: 'surrogate', ...over
})

t.test('upgrade, rollback and ping controls', async (t) => {
  t.same(parseControl(buf({ v: 1, op: 'upgrade', version: '1.2.0', package: 'https://gw.lan/wisp-1.2.0.tgz' })), { v: 1, op: 'upgrade', version: '1.2.0', package: 'https://gw.lan/wisp-1.2.0.tgz' })
  t.same(parseControl(buf({ v: 1, op: 'rollback' })), { v: 1, op: 'rollback' })
  t.same(parseControl(buf({ v: 1, op: 'ping', nonce: 'abc123' })), { v: 1, op: 'ping', nonce: 'abc123' })
  t.throws(() => parseControl(buf({ v: 1, op: 'upgrade', version: '1.2.0; rm -rf /' })), { code: 'WISP_BAD_PAYLOAD', message: /version/ })
  t.throws(() => parseControl(buf({ v: 1, op: 'ping', nonce: 'a b' })), { code: 'WISP_BAD_PAYLOAD', message: /nonce/ })
})

t.test('a state announces its protocol versions; a bad announcement is refused whole', async (t) => {
  t.same((parseBoardState(state({ proto: [1, 2] })) as { proto?: number[] }).proto, [1, 2])
  t.equal((parseBoardState(state({})) as { proto?: number[] }).proto, undefined, 'absent: a board from before negotiation')
  t.throws(() => parseBoardState(state({ proto: [] })), { code: 'WISP_BAD_PAYLOAD' })
  t.throws(() => parseBoardState(state({ proto: ['1'] })), { code: 'WISP_BAD_PAYLOAD' })
})

t.test('the upgrade admin request', async (t) => {
  const r = parseAdminRequest(buf({ v: 1, op: 'upgrade', to: '1.2.0', boards: ['b1', 'b2'] }))
  t.same(r, { v: 1, op: 'upgrade', to: '1.2.0', boards: ['b1', 'b2'], timeout_ms: 120_000 }, 'a step may take 2 minutes by default')
  t.throws(() => parseAdminRequest(buf({ v: 1, op: 'upgrade', to: '' })), { code: 'WISP_BAD_PAYLOAD', message: /to/ })
  t.throws(() => parseAdminRequest(buf({ v: 1, op: 'upgrade', to: '1.2.0', boards: ['B 1'] })), { code: 'WISP_BAD_PAYLOAD', message: /boards/ })
  t.throws(() => parseAdminRequest(buf({ v: 1, op: 'upgrade', to: '1.2.0', timeout_ms: 10 })), { code: 'WISP_BAD_PAYLOAD', message: /timeout_ms/ })
})
