import type { Redis } from 'ioredis'
import type { Logger } from '../shared/log.js'
import type { Invocation } from './inflight.js'
import { StoredSchema, toStored, type InflightStorage, type Recovered, type StoredInvocation } from './inflight-store.js'
import { fencedWrite, type FencedOp as Op } from './redis-fence.js'
import { queuedTopics } from './redis-queued-replies.js'
import { deliveredTopics } from './redis-delivered-replies.js'

/**
 * The leader's in-flight table (hash `<ns>:inv`, invocation → stored JSON) and dedupe window
 * (sorted set `<ns>:seen`, key scored by when it was seen) in the cluster's Redis, so the
 * gateway that takes the lease over re-dispatches or answers what the previous leader accepted.
 * Commands on one connection run in order, so a `del` never overtakes the `put` it undoes and
 * waiting for the last write waits for all of them. Each batch of writes carries this leader's
 * fencing token and is dropped once another gateway has been elected, so a deposed leader that
 * does not yet know it cannot overwrite or delete what its successor holds.
 */
export class RedisInflightStore implements InflightStorage {
  private tail: Promise<unknown> = Promise.resolve()
  private writes = 0

  private deposed = false

  constructor (private readonly redis: Redis, private readonly ns: string, private readonly fence: number, private readonly log: Logger, private readonly o: { rememberMs?: number, maxRemembered?: number } = {}) {}

  private get inv (): string { return `${this.ns}:inv` }
  private get seen (): string { return `${this.ns}:seen` }
  private get rememberMs (): number { return this.o.rememberMs ?? 10 * 60_000 }

  async recover (now: number): Promise<Recovered> {
    const invocations: StoredInvocation[] = []
    const stored = Object.entries(await this.redis.hgetall(this.inv))
    // The previous leader's delete of an answered invocation follows its reply: killed in between,
    // the reply already sits in its client's session (the cluster's brokers keep sessions in this
    // Redis and deliver it), so the invocation was answered and is not run again.
    // Or the surviving broker has delivered it already (redis-delivered-replies.ts).
    const answered = stored.length === 0 ? new Set<string>() : new Set([...await queuedTopics(this.redis), ...await deliveredTopics(this.redis, this.ns, now, this.rememberMs)])
    for (const [key, value] of stored) {
      let s: StoredInvocation
      try { s = StoredSchema.parse(JSON.parse(value)) } catch (err) {
        this.log.warn('dropping a stored invocation that no longer validates', { key, err: (err as Error).message })
        this.write([['HDEL', this.inv, key]])
        continue
      }
      if (s.reply !== null && answered.has(s.reply.topic)) {
        this.log.info('not re-running an invocation whose reply is queued for or delivered to its client', { invocation: s.invocation, request: s.requestId, topic: s.reply.topic })
        this.write([['HDEL', this.inv, key]])
        continue
      }
      invocations.push(s)
    }
    this.write([['ZREMRANGEBYSCORE', this.seen, '-inf', String(now - this.rememberMs)]])
    await this.tail
    const flat = await this.redis.zrange(this.seen, 0, -1, 'WITHSCORES')
    const seen: Array<readonly [string, number]> = []
    for (let i = 0; i + 1 < flat.length; i += 2) seen.push([flat[i] as string, Number(flat[i + 1])])
    const max = this.o.maxRemembered ?? 100_000
    if (seen.length > max) {
      const drop = seen.splice(0, seen.length - max)
      this.write(drop.map((d) => ['ZREM', this.seen, d[0]]))
    }
    invocations.sort((a, b) => a.receivedAt - b.receivedAt || (a.invocation < b.invocation ? -1 : 1))
    return { invocations, seen }
  }

  accepted (inv: Invocation, now: number): Promise<void> {
    const s = toStored(inv)
    const ops: Op[] = [['HSET', this.inv, inv.invocation, JSON.stringify(s)]]
    if (inv.attempt === 0 && inv.dedupeKey !== null) ops.push(['ZADD', this.seen, now, inv.dedupeKey])
    // Now and then, the keys that left the window.
    if (this.writes % 256 === 0) ops.push(['ZREMRANGEBYSCORE', this.seen, '-inf', String(now - this.rememberMs)])
    this.write(ops)
    return this.durable()
  }

  async durable (): Promise<void> { await this.tail }

  answered (invocation: string): void { this.write([['HDEL', this.inv, invocation]]) }

  /** The connection belongs to the caller. */
  async close (): Promise<void> { await this.tail }

  private write (ops: Op[]): void {
    if (ops.length === 0) return
    this.writes++
    this.tail = fencedWrite(this.redis, this.ns, this.fence, ops).then((applied) => {
      if (applied || this.deposed) return
      this.deposed = true
      this.log.warn('in-flight writes refused: another gateway leads now', { fence: this.fence })
    }, (err: Error) => this.log.warn('in-flight table write to Redis failed', { err: err.message }))
  }
}
