import { createRequire } from 'node:module'
import type { Redis } from 'ioredis'

const require = createRequire(import.meta.url)
// Decoded with the codec aedes-persistence-redis itself writes its packets with.
const persistenceRequire = createRequire(require.resolve('aedes-persistence-redis'))
const msgpack = persistenceRequire('msgpack-lite') as { decode: (b: Buffer) => unknown }

// aedes-persistence-redis's layout (asyncPersistence.js): `outgoing:<client>` lists the packets
// queued for a persistent session, each as `packet:<broker>:<counter>` (the PUBLISH) or, once a
// QoS 2 PUBLISH is acknowledged with PUBREC, `outgoing:<client>:<broker>:<counter>` (its PUBREL,
// without a topic; the PUBLISH stays under `packet:<broker>:<counter>` until PUBCOMP).
const OUTGOING = 'outgoing:'
const PACKET = 'packet:'

const topicOf = (raw: Buffer | null): string | null => {
  if (raw === null) return null
  try {
    const p = msgpack.decode(raw) as { topic?: unknown }
    return typeof p.topic === 'string' ? p.topic : null
  } catch { return null }
}

/** The PUBLISH key a queued entry stands for. */
const packetKeyOf = (entry: string): string | null => {
  if (entry.startsWith(PACKET)) return entry
  if (!entry.startsWith(OUTGOING)) return null
  const parts = entry.split(':') // outgoing, <client, URI-encoded>, <broker>, <counter>
  return parts.length >= 4 ? `${PACKET}${parts[parts.length - 2] ?? ''}:${parts[parts.length - 1] ?? ''}` : null
}

/**
 * Topics of the messages queued in the cluster's persistent sessions (sent and not yet fully
 * acknowledged, or waiting for their client). A gateway that takes the lead over reads them once:
 * an invocation whose reply is already queued was answered — the session delivers that reply —
 * and must not run again, or its client would get a second one. Reads aedes-persistence-redis's
 * key layout (re-check it with test/cluster/queued-replies.test.ts when upgrading that package).
 */
export const queuedTopics = async (redis: Redis): Promise<Set<string>> => {
  const topics = new Set<string>()
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${OUTGOING}*`, 'COUNT', 500)
    cursor = next
    for (const list of keys) {
      if (await redis.type(list) !== 'list') continue
      for (const entry of await redis.lrange(list, 0, -1)) {
        const key = packetKeyOf(entry)
        if (key === null) continue
        const topic = topicOf(await redis.getBuffer(key))
        if (topic !== null) topics.add(topic)
      }
    }
  } while (cursor !== '0')
  return topics
}
