import { createRequire } from 'node:module'
import { randomBytes } from 'node:crypto'
import { WispError } from '../shared/errors.js'

const require = createRequire(import.meta.url)
// CommonJS factories without usable type declarations for aedes 1.x (its persistence is the async one).
const mqemitterRedis = require('mqemitter-redis') as (o: { connectionString: string, maxRetriesPerRequest?: number | null }) => { close: (cb: () => void) => void }
const RedisPersistence = require('aedes-persistence-redis/asyncPersistence.js') as new (o: Record<string, unknown>) => unknown
// aedes 1.x takes the async persistence behind aedes-persistence 11's stream/callback layer (as its default in-memory one).
const { CallBackPersistence } = require('aedes-persistence/callBackPersistence.js') as { CallBackPersistence: new (factory: (o: Record<string, unknown>) => unknown, o: Record<string, unknown>) => { destroy: () => Promise<void> } }

/** What aedes needs to share subscriptions, sessions and retained messages with other gateways through one Redis. */
export interface ClusterBackends {
  /** A broker id unique in the cluster (aedes tells brokers apart by it). */
  readonly id: string
  readonly mq: unknown
  readonly persistence: unknown
  /** Call after aedes has closed (aedes closes `mq` itself, never its persistence). */
  destroy: () => Promise<void>
}

/** Checks a cluster Redis URL: redis:// or rediss:// with a host. */
export const checkRedisUrl = (raw: string): URL => {
  let u: URL
  try { u = new URL(raw) } catch { throw new WispError('WISP_BAD_CONFIG', `cluster.redis must be a URL such as redis://127.0.0.1:6379, got "${raw}"`) }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new WispError('WISP_BAD_CONFIG', `cluster.redis must use redis:// or rediss://, got "${u.protocol.slice(0, -1)}"`)
  if (u.hostname === '') throw new WispError('WISP_BAD_CONFIG', `cluster.redis has no host: "${raw}"`)
  return u
}

type OutgoingUpdate = (client: unknown, packet: { topic?: unknown }) => Promise<unknown>

/**
 * aedes writes a QoS 1 or 2 PUBLISH to a client's connection once its persistence's
 * `outgoingUpdate` settles: `beforeWrite` runs (and is awaited) first, for PUBLISHes only.
 */
const withBeforeWrite = (p: unknown, beforeWrite?: (topic: string) => Promise<void>): unknown => {
  if (beforeWrite === undefined) return p
  const target = p as { outgoingUpdate: OutgoingUpdate }
  const update = target.outgoingUpdate.bind(p) as OutgoingUpdate
  target.outgoingUpdate = async (client, packet) => {
    if (typeof packet.topic === 'string') await beforeWrite(packet.topic)
    return await update(client, packet)
  }
  return p
}

/**
 * aedes's message bus over Redis pub/sub (mqemitter-redis) and its persistence (subscriptions,
 * persistent sessions, QoS 1 queues, retained messages) in Redis (aedes-persistence-redis):
 * a client of one gateway receives what is published on another.
 */
export const clusterBackends = (redisUrl: string, beforeWrite?: (topic: string) => Promise<void>): ClusterBackends => {
  checkRedisUrl(redisUrl)
  const mq = mqemitterRedis({ connectionString: redisUrl })
  const u = new URL(redisUrl)
  const persistence = new CallBackPersistence((o) => withBeforeWrite(new RedisPersistence(o), beforeWrite), {
    host: u.hostname,
    port: u.port === '' ? 6379 : Number(u.port),
    ...(u.password === '' ? {} : { password: decodeURIComponent(u.password) }),
    ...(u.username === '' ? {} : { username: decodeURIComponent(u.username) }),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {})
  })
  let destroyed = false
  return {
    id: `wisp-gateway-${randomBytes(4).toString('hex')}`,
    mq,
    persistence,
    destroy: async () => {
      if (destroyed) return
      destroyed = true
      await persistence.destroy().catch(() => {})
    }
  }
}
