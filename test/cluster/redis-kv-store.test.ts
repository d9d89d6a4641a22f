import t from 'tap'
import { Redis } from 'ioredis'
import type { KvStorage } from '../../runtime/leader/kv-storage.js'
import { RedisKvStore } from '../../runtime/leader/redis-kv-store.js'
import { CAP_LIMITS } from '../../runtime/protocol/capabilities.js'
import { redisMissing, startRedis } from '../helpers/redis.js'

const skip = redisMissing()

/** Polls an async condition (Redis expires keys on its own clock). */
const eventually = async (pred: () => Promise<boolean>, ms: number, what: string): Promise<void> => {
  const deadline = Date.now() + ms
  while (!await pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

t.test('Redis KV: values by function, TTL by PX, prefix lists in key order and bounded, fenced writes', { skip }, async (t) => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const r = new Redis(redis.url)
  t.teardown(() => r.disconnect())
  const ns = 'wisp:kvt'
  await r.set(`${ns}:fence`, '3')
  const kv: KvStorage = new RedisKvStore(r, ns, 3)

  await kv.put('fa', 'b', '2', undefined, 0)
  await kv.put('fa', 'a', '{"x":1}', undefined, 0)
  await kv.put('fa', 'a/', '3', 200, 0)
  await kv.put('fa-x', 'a', '"other function"', undefined, 0)
  await kv.put('f', 'a/b', '"a prefix of fa"', undefined, 0)
  await kv.put('fa', 'é', '4', undefined, 0)
  t.equal(await kv.get('fa', 'a', 0), '{"x":1}')
  t.same(await kv.list('fa', '', 0), ['a', 'a/', 'b', 'é'], 'only fa\'s keys, in byte order')
  t.same(await kv.list('fa', 'a', 0), ['a', 'a/'])
  t.same(await kv.list('f', '', 0), ['a/b'])
  t.same(await kv.list('fa', 'é', 0), ['é'], 'a non-ASCII prefix')
  t.ok(await r.pttl(`${ns}:kv:fa/a/`) > 0, 'the TTL is a PEXPIRE')
  await eventually(async () => (await kv.get('fa', 'a/', 0)) === undefined, 5000, 'a/ to expire')
  t.same(await kv.list('fa', 'a', 0), ['a'], 'an expired key is not listed')
  t.same(await r.zrange(`${ns}:kvkeys:fa`, 0, -1), ['a', 'b', 'é'], 'and its index entry was removed on the way')
  await kv.delete('fa', 'b')
  t.same(await kv.list('fa', '', 0), ['a', 'é'])
  t.equal(await r.exists(`${ns}:kv:fa/b`), 0)

  // Deposed: the fencing token moved on; writes are refused and change nothing.
  await r.incr(`${ns}:fence`)
  await t.rejects(kv.put('fa', 'a', '"late"', undefined, 0), { code: 'WISP_OVERLOADED' })
  await t.rejects(kv.delete('fa', 'a'), { code: 'WISP_OVERLOADED' })
  t.equal(await kv.get('fa', 'a', 0), '{"x":1}', 'the value is unchanged')
  const next: KvStorage = new RedisKvStore(r, ns, 4)
  await next.put('fa', 'a', '"new leader"', undefined, 0)
  t.equal(await kv.get('fa', 'a', 0), '"new leader"', 'the new leader writes')
})

t.test('Redis KV: a list stops at CAP_LIMITS.listKeys, skipping expired keys', { skip }, async (t) => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const r = new Redis(redis.url)
  t.teardown(() => r.disconnect())
  const ns = 'wisp:kvm'
  await r.set(`${ns}:fence`, '1')
  const kv: KvStorage = new RedisKvStore(r, ns, 1)
  const p = r.pipeline()
  for (let i = 0; i < CAP_LIMITS.listKeys + 5; i++) {
    const k = `k${String(i).padStart(5, '0')}`
    p.set(`${ns}:kv:f/${k}`, '1')
    p.zadd(`${ns}:kvkeys:f`, 0, k)
  }
  p.zadd(`${ns}:kvkeys:f`, 0, 'k') // listed in the index, its value gone (expired)
  await p.exec()
  const keys = await kv.list('f', 'k', 0)
  t.equal(keys.length, CAP_LIMITS.listKeys)
  t.equal(keys[0], 'k00000', 'the expired one is skipped')
  t.equal(await r.zscore(`${ns}:kvkeys:f`, 'k'), null, 'and dropped from the index')
})
