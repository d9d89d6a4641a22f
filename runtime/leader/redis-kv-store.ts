import type { Redis } from 'ioredis'
import { CAP_LIMITS } from '../protocol/capabilities.js'
import { WispError } from '../shared/errors.js'
import type { KvStorage } from './kv-storage.js'
import { fencedWrite, type FencedOp } from './redis-fence.js'

/**
 * Up to ARGV[3] members of the sorted set KEYS[1] in the lex range ARGV[1]..ARGV[2] whose value
 * key (ARGV[4] .. member) still exists; members whose value expired are removed on the way,
 * each only if its value is still absent at that moment (atomic, so never one re-put meanwhile).
 */
const LIST = `local out, offset, limit, rounds = {}, 0, tonumber(ARGV[3]), 0
while #out < limit and rounds < 16 do
  rounds = rounds + 1
  local batch = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', offset, limit)
  if #batch == 0 then break end
  for _, k in ipairs(batch) do
    if redis.call('EXISTS', ARGV[4] .. k) == 1 then
      if #out < limit then out[#out + 1] = k end
      offset = offset + 1
    else
      redis.call('ZREM', KEYS[1], k)
    end
  end
end
return out`

/**
 * `context.kv` in the cluster's Redis: each value a string `<ns>:kv:<fn>/<key>` (its TTL a
 * PEXPIRE, so Redis drops it), and each function's keys in a sorted set `<ns>:kvkeys:<fn>`
 * (all scores 0, read in lex order) so listing by prefix reads at most CAP_LIMITS.listKeys of
 * them. Writes carry the leader's fencing token and are refused (WISP_OVERLOADED, retry) once
 * another gateway leads, as the in-flight table's are (redis-inflight-store.ts).
 */
export class RedisKvStore implements KvStorage {
  constructor (private readonly redis: Redis, private readonly ns: string, private readonly fence: number) {}

  private value (fn: string, key: string): string { return `${this.ns}:kv:${fn}/${key}` }
  private index (fn: string): string { return `${this.ns}:kvkeys:${fn}` }

  async get (fn: string, key: string): Promise<string | undefined> {
    return (await this.redis.get(this.value(fn, key))) ?? undefined
  }

  async put (fn: string, key: string, json: string, ttlMs: number | undefined): Promise<void> {
    const set: FencedOp = ttlMs === undefined ? ['SET', this.value(fn, key), json] : ['SET', this.value(fn, key), json, 'PX', Math.max(1, Math.ceil(ttlMs))]
    await this.write([set, ['ZADD', this.index(fn), 0, key]])
  }

  async delete (fn: string, key: string): Promise<void> {
    await this.write([['DEL', this.value(fn, key)], ['ZREM', this.index(fn), key]])
  }

  async list (fn: string, prefix: string): Promise<string[]> {
    const min = prefix === '' ? '-' : `[${prefix}`
    const max = prefix === '' ? '+' : Buffer.concat([Buffer.from(`[${prefix}`, 'utf8'), Buffer.from([0xff])])
    return await this.redis.eval(LIST, 1, this.index(fn), min, max, CAP_LIMITS.listKeys, this.value(fn, '')) as string[]
  }

  /** The connection belongs to the caller. */
  async close (): Promise<void> {}

  private async write (ops: FencedOp[]): Promise<void> {
    if (!await fencedWrite(this.redis, this.ns, this.fence, ops)) {
      throw new WispError('WISP_OVERLOADED', 'this gateway no longer leads the cluster: the key-value write was refused; retry')
    }
  }
}
