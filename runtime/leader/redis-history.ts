import type { Redis } from 'ioredis'
import type { History } from '../protocol/admin.js'
import { MAX_VERSIONS } from '../protocol/admin.js'
import type { Logger } from '../shared/log.js'
import type { HistoryStorage } from './history-storage.js'
import { fencedWrite, type FencedOp } from './redis-fence.js'

/**
 * Version histories in the Redis hash `<ns>:versions` (fn → History JSON, whose list of versions
 * addVersion keeps to the newest MAX_VERSIONS). Writes carry the leader's fencing token and
 * are dropped (with a warning) once another gateway leads.
 */
export class RedisHistory implements HistoryStorage {
  constructor (private readonly redis: Redis, private readonly ns: string, private readonly fence: number, private readonly log: Logger) {}

  private get key (): string { return `${this.ns}:versions` }

  async load (): Promise<Map<string, History>> {
    const out = new Map<string, History>()
    for (const [fn, json] of Object.entries(await this.redis.hgetall(this.key))) {
      try {
        const h = JSON.parse(json) as History
        if (h.fn !== fn || !Array.isArray(h.versions)) throw new Error('not a history')
        out.set(fn, { ...h, versions: h.versions.slice(-MAX_VERSIONS) })
      } catch (err) { this.log.warn('ignoring a stored version history that does not parse', { fn, err: (err as Error).message }) }
    }
    return out
  }

  async put (fn: string, h: History): Promise<void> { await this.write([['HSET', this.key, fn, JSON.stringify(h)]]) }
  async remove (fn: string): Promise<void> { await this.write([['HDEL', this.key, fn]]) }

  private async write (ops: FencedOp[]): Promise<void> {
    if (!await fencedWrite(this.redis, this.ns, this.fence, ops)) this.log.warn('version history write refused: another gateway leads now', { fence: this.fence })
  }
}
