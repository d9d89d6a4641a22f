import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Level } from 'level'
import { checkSecretName, checkSecretValue, SECRET_LIMITS, type Env } from '../protocol/secrets.js'
import { WispError } from '../shared/errors.js'
import { openLevel } from '../shared/level-open.js'
import type { Logger } from '../shared/log.js'
import { SecretCipher } from './secret-cipher.js'
import type { SealedSecrets, SecretStorage } from './secret-storage.js'

/**
 * The functions' secrets in the gateway's data folder, encrypted (SecretCipher) under
 * `<fn>/<NAME>`. They are decrypted once, at open, into memory, so a dispatch reads a
 * function's `env` without waiting. Values are never logged; a value that no longer decrypts
 * is dropped with a warning that names only its place.
 */
export class SecretStore implements SecretStorage {
  private readonly byFn = new Map<string, Map<string, string>>()
  private readonly frozen = new Map<string, Env>()

  private constructor (private readonly db: SealedSecrets, private readonly cipher: SecretCipher | null) {}

  /** The LevelDB store of one gateway, in `dir`. */
  static async open (dir: string, cipher: SecretCipher, log: Logger): Promise<SecretStore> {
    const db = new Level<string, string>(dir, { valueEncoding: 'utf8' })
    await openLevel(db, dir, 'choose another data folder (wisp start --data-dir DIR, or data_dir in the gateway config)')
    return await SecretStore.load({
      entries: () => db.iterator(),
      put: async (place, sealed) => { await db.put(place, sealed) },
      del: async (places) => { await db.batch(places.map((key) => ({ type: 'del' as const, key }))) },
      close: async () => { await db.close() }
    }, cipher, log)
  }

  /**
   * Secrets sealed in `db`, decrypted now. Without a cipher (a clustered gateway with no
   * `secrets_key_file`) the store is empty and setting a secret is WISP_BAD_CONFIG.
   */
  static async load (db: SealedSecrets, cipher: SecretCipher | null, log: Logger): Promise<SecretStore> {
    const s = new SecretStore(db, cipher)
    for await (const [k, sealed] of db.entries()) {
      const [fn = '', name = ''] = k.split('/')
      if (cipher === null) { log.warn('a stored secret is not read: this gateway has no secrets key (cluster.secrets_key_file)', { fn, name }); continue }
      const plain = cipher.open(k, sealed)
      if (plain === null) { log.warn('a stored secret does not decrypt with this key; dropped', { fn, name }); continue }
      s.mapOf(fn).set(name, plain)
    }
    return s
  }

  private mapOf (fn: string): Map<string, string> {
    let m = this.byFn.get(fn)
    if (m === undefined) { m = new Map(); this.byFn.set(fn, m) }
    return m
  }

  /** Sets (or replaces) a secret; WISP_BAD_CONFIG for a bad name, a value too large, or one secret too many. */
  async set (fn: string, name: string, value: string): Promise<void> {
    checkSecretName(name)
    checkSecretValue(value)
    const cipher = this.cipher
    if (cipher === null) throw new WispError('WISP_BAD_CONFIG', 'this clustered gateway has no secrets key: give every gateway the same 32-byte key file (openssl rand 32 > secrets.key) as cluster.secrets_key_file')
    const m = this.mapOf(fn)
    if (!m.has(name) && m.size >= SECRET_LIMITS.perFunction) throw new WispError('WISP_BAD_CONFIG', `function ${fn} already has ${SECRET_LIMITS.perFunction} secrets, the most it may have`)
    // In memory first, so two requests at once cannot both take the last place.
    const before = m.get(name)
    m.set(name, value)
    this.frozen.delete(fn)
    try {
      await this.db.put(`${fn}/${name}`, cipher.seal(`${fn}/${name}`, value))
    } catch (err) {
      if (before === undefined) m.delete(name); else m.set(name, before)
      this.frozen.delete(fn)
      throw err
    }
  }

  /** Whether there was such a secret. */
  async remove (fn: string, name: string): Promise<boolean> {
    checkSecretName(name)
    const m = this.byFn.get(fn)
    if (m?.has(name) !== true) return false
    await this.db.del([`${fn}/${name}`])
    m.delete(name)
    if (m.size === 0) this.byFn.delete(fn)
    this.frozen.delete(fn)
    return true
  }

  /** Drops all secrets of a removed function. */
  async forget (fn: string): Promise<void> {
    const m = this.byFn.get(fn)
    if (m === undefined) return
    await this.db.del([...m.keys()].map((name) => `${fn}/${name}`))
    this.byFn.delete(fn)
    this.frozen.delete(fn)
  }

  /** The names of `fn`'s secrets, sorted (never their values). */
  names (fn: string): string[] { return [...(this.byFn.get(fn)?.keys() ?? [])].sort() }

  /** `fn`'s secrets for its run messages, or undefined when it has none. */
  env (fn: string): Env | undefined {
    const m = this.byFn.get(fn)
    if (m === undefined || m.size === 0) return undefined
    let e = this.frozen.get(fn)
    if (e === undefined) { e = Object.freeze(Object.fromEntries(m)); this.frozen.set(fn, e) }
    return e
  }

  async close (): Promise<void> { await this.db.close() }
}

/** The gateway's secrets: key file `secrets.key` and database `secrets/` in its data folder. */
export const openSecrets = async (dataDir: string, log: Logger): Promise<SecretStore> => {
  const dir = join(dataDir, 'secrets')
  mkdirSync(dir, { recursive: true })
  return await SecretStore.open(dir, SecretCipher.open(join(dataDir, 'secrets.key')), log)
}
