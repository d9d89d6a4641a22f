import { Level } from 'level'
import type { CodeCacheStore } from './code-cache.js'

/** Compiled code kept in LevelDB (the board's data folder), so a restart skips compilation. */
export class LevelCodeCache implements CodeCacheStore {
  private readonly db: Level<string, Uint8Array>

  constructor (location: string) {
    this.db = new Level<string, Uint8Array>(location, { valueEncoding: 'view' })
  }

  get = async (key: string): Promise<Uint8Array | undefined> => {
    const v = await this.db.get(key)
    return v ?? undefined
  }

  put = async (key: string, value: Uint8Array): Promise<void> => { await this.db.put(key, value) }
  del = async (key: string): Promise<void> => { await this.db.del(key) }
  close = async (): Promise<void> => { await this.db.close() }
}
