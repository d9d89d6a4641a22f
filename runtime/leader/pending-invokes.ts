import type { AedesOptions } from 'aedes'
import type { Redis } from 'ioredis'
import type { Topics } from '../protocol/topics.js'
import type { Logger } from '../shared/log.js'
import type { InboundMessage } from '../transport/transport.js'

type AuthorizePublish = NonNullable<AedesOptions['authorizePublish']>

/**
 * Invokes a gateway's broker has PUBACKed and the leader has not yet stored, in the Redis hash
 * `<ns>:pending` (topic → payload). Clustered, any gateway may take a client's invoke while the
 * leader runs on another one (or on none, during a failover): the broker writes the invoke here
 * before its PUBACK (as accept-hook.ts does for one gateway), the leader deletes it once its own
 * table holds it, and a newly elected leader admits whatever is left. A repeat is dropped by
 * the leader's dedupe window, which the new leader reads first.
 */
export class PendingInvokes {
  constructor (private readonly redis: Redis, private readonly ns: string, private readonly log: Logger) {}

  private get key (): string { return `${this.ns}:pending` }

  /** The payload in base64, after `2|` when the invoke came at QoS 2 (its reply goes at QoS 2 too). */
  async add (m: InboundMessage): Promise<void> {
    await this.redis.hset(this.key, m.topic, `${m.qos === 2 ? '2|' : ''}${m.payload.toString('base64')}`)
  }

  async remove (topic: string): Promise<void> {
    await this.redis.hdel(this.key, topic).catch((err: Error) => this.log.warn('cannot clear a pending invoke', { topic, err: err.message }))
  }

  async list (): Promise<InboundMessage[]> {
    const all = await this.redis.hgetall(this.key)
    return Object.entries(all).map(([topic, v]) => v.startsWith('2|')
      ? { topic, payload: Buffer.from(v.slice(2), 'base64'), retain: false, qos: 2 as const }
      : { topic, payload: Buffer.from(v, 'base64'), retain: false })
  }
}

/** The broker hook of a clustered gateway: an invoke is in Redis before its PUBACK. */
export const pendBeforePuback = (topics: Topics, pending: PendingInvokes, log: Logger, inner?: AuthorizePublish): AuthorizePublish => (client, packet, done) => {
  const next = (err?: Error | null): void => {
    if (err !== null && err !== undefined) { done(err); return }
    if (!packet.topic.startsWith(`${topics.prefix}/invoke/`) || packet.retain === true) { done(null); return }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : Buffer.from(packet.payload)
    // Redis unreachable: the invoke still reaches the leader, just not crash-safe.
    pending.add({ topic: packet.topic, payload, retain: false, qos: packet.qos }).then(() => done(null), (e: Error) => { log.warn('cannot record a pending invoke', { topic: packet.topic, err: e.message }); done(null) })
  }
  if (inner === undefined) next(null); else inner(client, packet, next)
}
