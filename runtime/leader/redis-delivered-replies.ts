import type { Redis } from 'ioredis'
import type { Logger } from '../shared/log.js'

/** The sorted set of reply topics some gateway's broker wrote to a client, scored by when. */
export const deliveredKey = (ns: string): string => `${ns}:delivered`

/**
 * Every gateway of a cluster, leading or not, records in Redis each reply its broker is about to
 * write to a client's connection, before the write (aedes writes once its persistence's
 * `outgoingUpdate` settles). A leader killed between a reply and the delete of its invocation
 * leaves that invocation in the shared table, and the surviving broker may deliver the queued
 * reply before the next leader is elected; the next leader reads this record and does not run
 * the invocation again (its client would get a second reply). Only topics under
 * `<prefix>/result/`; entries older than `rememberMs` are dropped now and then.
 */
export class DeliveredReplies {
  private writes = 0

  constructor (private readonly redis: Redis, private readonly ns: string, private readonly resultPrefix: string, private readonly log: Logger, private readonly rememberMs = 10 * 60_000) {}

  /** Resolves once the record is in Redis (or failed: a delivery is never held back by it). */
  async beforeWrite (topic: string, now: number): Promise<void> {
    if (!topic.startsWith(this.resultPrefix)) return
    const key = deliveredKey(this.ns)
    try {
      if (this.writes++ % 256 === 0) await this.redis.multi().zadd(key, now, topic).zremrangebyscore(key, '-inf', now - this.rememberMs).exec()
      else await this.redis.zadd(key, now, topic)
    } catch (err) {
      this.log.warn('cannot record a delivered reply', { topic, err: (err as Error).message })
    }
  }
}

/** The reply topics delivered within the last `rememberMs`. */
export const deliveredTopics = async (redis: Redis, ns: string, now: number, rememberMs = 10 * 60_000): Promise<Set<string>> =>
  new Set(await redis.zrangebyscore(deliveredKey(ns), now - rememberMs, '+inf'))
