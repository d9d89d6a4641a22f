import t from 'tap'
import { Redis } from 'ioredis'
import type { Invocation } from '../../runtime/leader/inflight.js'
import { RedisInflightStore } from '../../runtime/leader/redis-inflight-store.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { redisMissing, startRedis } from '../helpers/redis.js'

const skip = redisMissing()
const manifest = buildManifest('f', 'export async function handler () { return 1 }', { timeout_ms: 1000 })
const inv = (id: string, over: Partial<Invocation> = {}): Invocation => ({
  invocation: id, requestId: `r-${id}`, dedupeKey: `c/f/r-${id}`, fn: 'f', manifest, event: { id }, eventBytes: 10,
  reply: { topic: `wisp/result/c/f/r-${id}`, correlationData: Buffer.from('cafe', 'hex') },
  receivedAt: 1000, deadline: 12_000, attempt: 0, board: 'b1', sentTo: ['b1'], dispatchedAt: 1000, timer: null, ...over
})

t.test('in Redis: the next leader reads what the previous one accepted; a deposed leader can no longer write', { skip }, async (t) => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const r = new Redis(redis.url)
  t.teardown(() => r.disconnect())
  const ns = 'wisp:test'
  const term1 = Number(await r.incr(`${ns}:fence`))
  const old = new RedisInflightStore(r, ns, term1, silentLogger, { rememberMs: 60_000 })
  await old.accepted(inv('a'), 1000)
  await old.accepted(inv('b'), 1000)
  const c = inv('c')
  await old.accepted(c, 1000)
  c.attempt = 1
  await old.accepted(c, 2000)
  old.answered('b')
  await old.durable()

  const term2 = Number(await r.incr(`${ns}:fence`)) // another gateway is elected
  const next = new RedisInflightStore(r, ns, term2, silentLogger, { rememberMs: 60_000 })
  const got = await next.recover(5000)
  t.same(got.invocations.map((x) => [x.invocation, x.attempt]), [['a', 0], ['c', 1]], 'unanswered invocations, at their last attempt')
  t.same(got.invocations[0]?.reply, { topic: 'wisp/result/c/f/r-a', correlationData: 'cafe' })
  t.same(got.seen.map(([k]) => k).sort(), ['c/f/r-a', 'c/f/r-b', 'c/f/r-c'], 'the dedupe window, answered requests included')

  // The deposed leader, not knowing yet: its writes are refused.
  await old.accepted(inv('z'), 3000)
  old.answered('a')
  await old.durable()
  const after = await next.recover(5000)
  t.same(after.invocations.map((x) => x.invocation), ['a', 'c'], 'neither its new invocation nor its delete landed')
  t.notOk(after.seen.some(([k]) => k === 'c/f/r-z'), 'nor its dedupe key')

  next.answered('a')
  next.answered('c')
  await next.durable()
  t.same((await next.recover(5000)).invocations, [], 'the current leader writes')
  t.same((await next.recover(1000 + 60_000)).seen, [], 'keys older than the window are dropped')
})
