import { Level } from 'level'
import { CAP_LIMITS } from '../protocol/capabilities.js'
import { openLevel } from '../shared/level-open.js'
import type { KvStorage } from './kv-storage.js'

/** One stored value: its JSON text and when it expires (epoch ms of the leader's clock), if ever. */
interface Stored { readonly v: string, readonly e: number | null }

/**
 * The functions' key-value state (`context.kv`), in the gateway's data folder, so it survives a
 * restart. Keys are namespaced by function (`<fn>/<key>`; a function name has no '/'), and only
 * the gateway builds the namespace, from the invocation it knows the call belongs to: one
 * function never reads another's. Values are JSON text; an expired value reads as absent and is
 * deleted when met.
 */
export class KvStore implements KvStorage {
  private constructor (private readonly db: Level<string, string>) {}

  static async open (dir: string): Promise<KvStore> {
    const db = new Level<string, string>(dir, { valueEncoding: 'utf8' })
    await openLevel(db, dir, 'choose another data folder (wisp start --data-dir DIR, or data_dir in the gateway config)')
    return new KvStore(db)
  }

  private static at (fn: string, key: string): string { return `${fn}/${key}` }

  /** The value's JSON text, or undefined. */
  async get (fn: string, key: string, now: number): Promise<string | undefined> {
    const raw = await this.db.get(KvStore.at(fn, key))
    if (raw === undefined) return undefined
    const s = read(raw)
    if (s === null || (s.e !== null && s.e <= now)) { await this.db.del(KvStore.at(fn, key)); return undefined }
    return s.v
  }

  async put (fn: string, key: string, json: string, ttlMs: number | undefined, now: number): Promise<void> {
    const s: Stored = { v: json, e: ttlMs === undefined ? null : now + ttlMs }
    await this.db.put(KvStore.at(fn, key), JSON.stringify(s))
  }

  async delete (fn: string, key: string): Promise<void> { await this.db.del(KvStore.at(fn, key)) }

  /** Keys of `fn` starting with `prefix`, in order, at most CAP_LIMITS.listKeys; expired ones are deleted on the way. */
  async list (fn: string, prefix: string, now: number): Promise<string[]> {
    const base = `${fn}/`
    const keys: string[] = []
    const expired: string[] = []
    for await (const [k, raw] of this.db.iterator({ gte: base + prefix })) {
      if (!k.startsWith(base + prefix)) break
      const s = read(raw)
      if (s === null || (s.e !== null && s.e <= now)) { expired.push(k); continue }
      keys.push(k.slice(base.length))
      if (keys.length >= CAP_LIMITS.listKeys) break
    }
    if (expired.length > 0) await this.db.batch(expired.map((key) => ({ type: 'del' as const, key })))
    return keys
  }

  async close (): Promise<void> { await this.db.close() }
}

const read = (raw: string): Stored | null => {
  try {
    const s = JSON.parse(raw) as Partial<Stored>
    return typeof s.v === 'string' && (s.e === null || typeof s.e === 'number') ? { v: s.v, e: s.e } : null
  } catch { return null }
}
