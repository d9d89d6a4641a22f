import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { codeCacheKey, type CodeCacheStore } from '../../runtime/agent/code-cache.js'
import { IsolatePool } from '../../runtime/agent/isolate-pool.js'
import { LevelCodeCache } from '../../runtime/agent/level-code-cache.js'
import { ECHO, manifest, request } from './fixtures/pool-helpers.js'

/** A store that counts what the pool asks of it. */
const counting = (inner: CodeCacheStore): CodeCacheStore & { puts: number, hits: number, dels: number } => {
  const c = {
    puts: 0, hits: 0, dels: 0,
    get: async (k: string) => { const v = await inner.get(k); if (v !== undefined) c.hits++; return v },
    put: async (k: string, v: Uint8Array) => { c.puts++; await inner.put(k, v) },
    del: async (k: string) => { c.dels++; await inner.del(k) }
  }
  return c
}

const dir = mkdtempSync(join(tmpdir(), 'wisp-cache-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const code = ECHO + '// cached\n'
const m = manifest('cached', code)

t.test('compiled code survives a pool restart through level', async (tt) => {
  const db1 = new LevelCodeCache(join(dir, 'a'))
  const c1 = counting(db1)
  const p1 = new IsolatePool({ budgetMb: 128, cache: c1 })
  tt.ok((await p1.invoke(request(m, code, 1))).ok)
  tt.equal(c1.puts, 1, 'first compile stored')
  await p1.close(); await db1.close()

  const db2 = new LevelCodeCache(join(dir, 'a'))
  const c2 = counting(db2)
  const p2 = new IsolatePool({ budgetMb: 128, cache: c2 })
  const o = await p2.invoke(request(m, code, 2))
  tt.ok(o.ok)
  tt.same([c2.hits, c2.puts], [1, 0], 'the restarted pool used the cache and compiled nothing new')
  await p2.close(); await db2.close()
})

t.test('a rejected or corrupt cache entry is dropped and rebuilt, never an error', async (tt) => {
  const db = new LevelCodeCache(join(dir, 'b'))
  tt.teardown(() => db.close())
  const key = codeCacheKey(m.sha256)
  const p0 = new IsolatePool({ budgetMb: 128, cache: db })
  await p0.invoke(request(m, code))
  await p0.close()
  const good = await db.get(key)
  tt.ok(good !== undefined)
  // Same script text, garbage in place of V8's cached data: V8 rejects it.
  const bad = new Uint8Array(good as Uint8Array)
  const textLen = new DataView(bad.buffer).getUint32(0, true)
  bad.fill(0x5a, 4 + textLen)
  await db.put(key, bad)
  const c = counting(db)
  const p1 = new IsolatePool({ budgetMb: 128, cache: c })
  const o = await p1.invoke(request(m, code, 'x'))
  tt.ok(o.ok, 'invocation served')
  tt.same([c.dels, c.puts], [1, 1], 'dropped and rebuilt')
  await p1.close()
  // Bytes that do not even decode.
  await db.put(key, new Uint8Array([1, 2, 3]))
  const p2 = new IsolatePool({ budgetMb: 128, cache: db })
  tt.ok((await p2.invoke(request(m, code))).ok)
  tt.not((await db.get(key))?.byteLength, 3, 'replaced with a good entry')
  await p2.close()
})
