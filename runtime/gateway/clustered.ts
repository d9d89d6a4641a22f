import { Redis } from 'ioredis'
import { Topics } from '../protocol/topics.js'
import { WispError } from '../shared/errors.js'
import { systemClock } from '../shared/clock.js'
import { startBroker, type EmbeddedBroker } from '../leader/broker.js'
import { brokerAuth } from '../leader/broker-auth.js'
import { limitPublishSize } from '../leader/broker-limits.js'
import { LeaderLease } from '../leader/lease.js'
import { PendingInvokes, pendBeforePuback } from '../leader/pending-invokes.js'
import { checkRedisUrl, clusterBackends } from '../leader/redis-backends.js'
import { DeliveredReplies } from '../leader/redis-delivered-replies.js'
import { RedisInflightStore } from '../leader/redis-inflight-store.js'
import { RedisKvStore } from '../leader/redis-kv-store.js'
import { RedisHistory } from '../leader/redis-history.js'
import { RedisLogs } from '../leader/redis-logs.js'
import { openRedisSecrets } from '../leader/redis-secrets.js'
import { SecretCipher } from '../leader/secret-cipher.js'
import { startGateway, type Gateway, type GatewayOptions } from './main.js'
import { checkListeners } from './listeners.js'

export interface ClusterOptions {
  /** The Redis all gateways of the cluster share (redis:// or rediss://). */
  readonly redis: string
  /** The leader's lease; a dead leader is replaced within about 4/3 of it. Default 3000 ms. */
  readonly leaseMs?: number
  /**
   * A 32-byte key file, the same on every gateway, that seals the functions' secrets in Redis
   * (`openssl rand 32 > secrets.key`). Without it, setting a secret is WISP_BAD_CONFIG.
   */
  readonly secretsKeyFile?: string
}

export interface ClusteredGateway {
  /** This gateway's broker (always up, leader or not). */
  readonly broker: EmbeddedBroker
  readonly url: string
  /** Its broker id in the cluster, also its name as a lease holder. */
  readonly id: string
  /** The leader role while this gateway holds the lease, else null. */
  leader: () => Gateway | null
  /** The fencing token of its current term (0 when not leading). */
  fence: () => number
  /** Resolves once this gateway leads (for tests and `wisp gateway` logs). */
  elected: () => Promise<Gateway>
  close: () => Promise<void>
}

export const DEFAULT_LEASE_MS = 3000
const CLOSE_MS = 5000

const bounded = async (p: Promise<void>, ms: number, late: () => void): Promise<void> => {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([p, new Promise<void>((resolve) => { timer = setTimeout(() => { late(); resolve() }, ms) })])
  clearTimeout(timer)
}

const connectRedis = async (url: string, o: { commandTimeout?: number }): Promise<Redis> => {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, ...o })
  r.on('error', () => { /* ioredis reconnects; commands fail and are handled where issued */ })
  try { await r.connect() } catch (err) {
    r.disconnect()
    throw new WispError('WISP_BAD_CONFIG', `cannot reach the cluster's Redis at ${url}: ${(err as Error).message}; check cluster.redis`)
  }
  return r
}

/**
 * One gateway of a cluster: its embedded aedes shares subscriptions, sessions and retained
 * messages with the others through Redis, and it runs the leader (registry, control loop,
 * status page, HTTP invokes) only while it holds the leader lease.
 */
export const startClusteredGateway = async (o: GatewayOptions & { readonly cluster: ClusterOptions }): Promise<ClusteredGateway> => {
  if (o.brokerUrl !== undefined) throw new WispError('WISP_BAD_CONFIG', 'cluster works with the embedded broker only; remove `broker` (or --broker) from the gateway config')
  if (o.attached !== undefined) throw new WispError('WISP_BAD_CONFIG', 'a clustered gateway attaches its own broker')
  checkRedisUrl(o.cluster.redis)
  const leaseMs = o.cluster.leaseMs ?? DEFAULT_LEASE_MS
  const topics = new Topics(o.topicPrefix)
  const hasUsers = o.users !== undefined && Object.keys(o.users).length > 0
  // Every gateway of a cluster, leader or not, before it binds: the same rules as a single gateway.
  checkListeners(o)
  const ns = `wisp:${topics.prefix}`
  // Checked before anything starts: a missing or short key file is a configuration error.
  const cipher = o.cluster.secretsKeyFile === undefined ? null : SecretCipher.read(o.cluster.secretsKeyFile)
  const leaseRedis = await connectRedis(o.cluster.redis, { commandTimeout: Math.max(200, Math.floor(leaseMs / 3)) })
  let dataRedis: Redis
  try { dataRedis = await connectRedis(o.cluster.redis, {}) } catch (err) { leaseRedis.disconnect(); throw err }
  const pending = new PendingInvokes(dataRedis, ns, o.log)
  const clock = o.clock ?? systemClock
  const delivered = new DeliveredReplies(dataRedis, ns, `${topics.prefix}/result/`, o.log)
  const backends = clusterBackends(o.cluster.redis, async (topic) => await delivered.beforeWrite(topic, clock.now()))
  const users = hasUsers && o.users !== undefined ? brokerAuth(o.users, topics) : undefined
  const auth = { ...users, authorizePublish: limitPublishSize(topics, pendBeforePuback(topics, pending, o.log, users?.authorizePublish)) }
  let broker: EmbeddedBroker
  try {
    broker = await startBroker({ port: o.mqttPort, host: o.mqttHost, log: o.log, auth, tls: o.tls, cluster: backends })
  } catch (err) {
    await backends.destroy(); leaseRedis.disconnect(); dataRedis.disconnect()
    throw err
  }
  let current: Gateway | null = null
  const waiting = new Set<(g: Gateway) => void>()
  const lease: LeaderLease = new LeaderLease({
    redis: leaseRedis,
    ns,
    holder: backends.id,
    leaseMs,
    clock,
    log: o.log,
    onElected: async (fence) => {
      try {
        // One set of stores per term: their writes carry this term's fencing token.
        current = await startGateway({
          ...o,
          attached: {
            broker,
            store: new RedisInflightStore(dataRedis, ns, fence, o.log),
            fence,
            pending,
            kv: new RedisKvStore(dataRedis, ns, fence),
            secrets: async () => await openRedisSecrets(dataRedis, ns, fence, cipher, o.log),
            histories: new RedisHistory(dataRedis, ns, fence, o.log),
            logs: new RedisLogs(dataRedis, ns, fence, o.log)
          }
        })
      } catch (err) {
        o.log.error('cannot take the leader role; giving the lease up', { err: (err as Error).message })
        lease.resign()
        return
      }
      o.log.info('leading the cluster', { gateway: backends.id, fence })
      for (const w of waiting) w(current)
      waiting.clear()
    },
    onDeposed: async () => {
      const g = current
      current = null
      await g?.close()
    }
  })
  lease.start()
  return {
    broker,
    url: broker.url,
    id: backends.id,
    leader: () => current,
    fence: () => lease.fence,
    elected: async () => current ?? await new Promise<Gateway>((resolve) => waiting.add(resolve)),
    close: async () => {
      await lease.stop()
      // With Redis gone, its clients would retry for ever: closing must still end.
      await bounded(broker.close(), CLOSE_MS, () => o.log.warn('the broker did not close in time (Redis unreachable?)', { ms: CLOSE_MS }))
      leaseRedis.disconnect()
      dataRedis.disconnect()
    }
  }
}
