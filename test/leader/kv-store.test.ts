import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KvStore } from '../../runtime/leader/kv-store.js'
import { CAP_LIMITS } from '../../runtime/protocol/capabilities.js'

const dir = mkdtempSync(join(tmpdir(), 'wisp-kv-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

t.test('values by function, TTL on the given clock, prefix lists in key order, kept across a reopen', async (t) => {
  let kv = await KvStore.open(dir)
  await kv.put('fa', 'b', '2', undefined, 0)
  await kv.put('fa', 'a', '{"x":1}', undefined, 0)
  await kv.put('fa', 'a/', '3', 1000, 0)
  await kv.put('fa-x', 'a', '"other function"', undefined, 0)
  await kv.put('f', 'a/b', '"a prefix of fa"', undefined, 0)
  t.equal(await kv.get('fa', 'a', 10), '{"x":1}')
  t.same(await kv.list('fa', '', 10), ['a', 'a/', 'b'], 'only fa\'s keys, not fa-x\'s nor f\'s')
  t.same(await kv.list('fa', 'a', 10), ['a', 'a/'])
  t.same(await kv.list('f', '', 10), ['a/b'])
  t.equal(await kv.get('fa', 'a/', 999), '3', 'alive before its TTL')
  t.equal(await kv.get('fa', 'a/', 1000), undefined, 'gone at its TTL')
  t.same(await kv.list('fa', '', 1000), ['a', 'b'])
  await kv.delete('fa', 'b')
  await kv.close()
  kv = await KvStore.open(dir)
  t.teardown(() => kv.close())
  t.same(await kv.list('fa', '', 2000), ['a'], 'kept across a reopen')
  t.equal(await kv.get('fa-x', 'a', 2000), '"other function"')
})

t.test('a list stops at CAP_LIMITS.listKeys', async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'wisp-kv-many-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  const kv = await KvStore.open(d)
  t.teardown(() => kv.close())
  for (let i = 0; i < CAP_LIMITS.listKeys + 5; i++) await kv.put('f', `k${String(i).padStart(5, '0')}`, '1', undefined, 0)
  const keys = await kv.list('f', 'k', 0)
  t.equal(keys.length, CAP_LIMITS.listKeys)
  t.equal(keys[0], 'k00000')
})
