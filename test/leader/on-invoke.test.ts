import t from 'tap'
import { admitInvoke, newInvocationId } from '../../runtime/leader/on-invoke.js'
import { replyAddress } from '../../runtime/leader/reply-address.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import type { InboundMessage } from '../../runtime/transport/transport.js'

const topics = new Topics()
const hello = buildManifest('hello', 'export async function handler () { return 1 }', { timeout_ms: 1000 })
const seen = new Set<string>()
const deps = { topics, manifest: (fn: string) => fn === 'hello' ? hello : undefined, now: 100, waitMs: 500, maxEventBytes: 64, isDuplicate: (k: string) => seen.has(k) }
const msg = (topic: string, payload = '{}', extra: Partial<InboundMessage> = {}): InboundMessage => ({ topic, payload: Buffer.from(payload), retain: false, ...extra })

t.test('an invoke is accepted with its reply address and deadline', async (t) => {
  const out = admitInvoke(msg('wisp/invoke/hello/me/r1', '{"a":1}'), deps)
  t.equal(out.kind, 'accept')
  if (out.kind !== 'accept') return
  t.same(out.invocation.event, { a: 1 })
  t.same(out.invocation.reply, { topic: 'wisp/result/me/hello/r1' })
  t.equal(out.invocation.deadline, 100 + 500 + 1000, 'wait for a board + the function timeout')
  t.equal(out.invocation.dedupeKey, 'me/hello/r1')
})

t.test('rejections carry a stable code and go to the reply address', async (t) => {
  const unknown = admitInvoke(msg('wisp/invoke/nope/me/r1'), deps)
  t.match(unknown, { kind: 'reject', error: { code: 'WISP_UNKNOWN_FUNCTION' }, reply: { topic: 'wisp/result/me/nope/r1' } })
  t.match(admitInvoke(msg('wisp/invoke/hello/me/r2', '{x'), deps), { kind: 'reject', error: { code: 'WISP_BAD_PAYLOAD' } })
  t.match(admitInvoke(msg('wisp/invoke/hello/me/r3', JSON.stringify({ s: 'x'.repeat(100) })), deps), { kind: 'reject', error: { code: 'WISP_PAYLOAD_TOO_LARGE' } })
})

t.test('retained, malformed and duplicate invokes are ignored, never answered twice', async (t) => {
  t.match(admitInvoke(msg('wisp/invoke/hello/me/r4', '{}', { retain: true }), deps), { kind: 'ignore', why: 'retained invoke' })
  t.match(admitInvoke(msg('wisp/invoke/hello/ME/r4'), deps), { kind: 'ignore' })
  seen.add('me/hello/r5')
  t.match(admitInvoke(msg('wisp/invoke/hello/me/r5'), deps), { kind: 'ignore', why: /duplicate/ })
})

t.test('MQTT 5 response topics: the caller\'s own result space only', async (t) => {
  const cd = Buffer.from('c1')
  t.same(replyAddress(topics, { fn: 'f', client: 'me', req: 'r' }, 'wisp/result/me/x', cd), { topic: 'wisp/result/me/x', correlationData: cd })
  t.throws(() => replyAddress(topics, { fn: 'f', client: 'me', req: 'r' }, 'app/replies/7', undefined), { code: 'WISP_UNAUTHORIZED' }, 'not outside the prefix either: the leader would publish there as admin')
  t.throws(() => replyAddress(topics, { fn: 'f' }, 'app/replies/7', undefined), { code: 'WISP_UNAUTHORIZED' }, 'an invoke without <client> has no result space')
  t.same(replyAddress(topics, { fn: 'f' }, 'app/replies/7', undefined, true), { topic: 'app/replies/7' }, 'outside the prefix on a broker without accounts')
  t.throws(() => replyAddress(topics, { fn: 'f' }, 'wisp/boards/b1/run', undefined, true), { code: 'WISP_UNAUTHORIZED' }, 'but never inside it')
  t.throws(() => replyAddress(topics, { fn: 'f', client: 'me', req: 'r' }, 'wisp/result/you/x', undefined), { code: 'WISP_UNAUTHORIZED' })
  t.throws(() => replyAddress(topics, { fn: 'f' }, 'wisp/boards/b1/run', undefined), { code: 'WISP_UNAUTHORIZED' }, 'an anonymous reply may not be aimed at a board')
  t.throws(() => replyAddress(topics, { fn: 'f' }, 'app/+/x', undefined), { code: 'WISP_UNAUTHORIZED', message: /wildcards/ })
  t.equal(replyAddress(topics, { fn: 'f' }, undefined, undefined), null, 'fire and forget')
  const out = admitInvoke(msg('wisp/invoke/hello/me/r6', '{}', { responseTopic: 'wisp/result/you/x' }), deps)
  t.match(out, { kind: 'reject', error: { code: 'WISP_UNAUTHORIZED' }, reply: { topic: 'wisp/result/me/hello/r6' } })
})

t.test('invocation ids are random, 96 bits, and fit the <req> grammar', async (t) => {
  const ids = new Set<string>()
  for (let i = 0; i < 1000; i++) ids.add(newInvocationId())
  t.equal(ids.size, 1000)
  const [a, b] = [newInvocationId(), newInvocationId()]
  t.match(a, /^i[A-Za-z0-9_-]{16}$/, '16 base64url characters = 96 bits')
  t.not(a.slice(0, 12), b.slice(0, 12), 'no shared prefix to guess from')
})
