import type { AedesOptions } from 'aedes'
import type { Topics } from '../protocol/topics.js'
import type { InboundMessage } from '../transport/transport.js'

type AuthorizePublish = NonNullable<AedesOptions['authorizePublish']>

/**
 * aedes answers a QoS 1 PUBLISH with PUBACK before it routes the message (its
 * lib/handlers/publish.js), so a leader that learns of an invoke by subscription could be
 * killed after the client was told "received" and before the invoke was on disk. Its
 * `authorizePublish` hook runs before the PUBACK: there the leader admits the invoke and the
 * hook returns once the leader has written it, so a PUBACKed invoke survives a crash
 * (MQTT 3.1.1 §4.3.2: the sender may discard the message once it has the PUBACK).
 */
export const acceptBeforePuback = (
  topics: Topics,
  admit: () => ((m: InboundMessage) => Promise<void>) | null,
  inner?: AuthorizePublish
): AuthorizePublish => (client, packet, done) => {
  const next = (err?: Error | null): void => {
    if (err !== null && err !== undefined) { done(err); return }
    const a = admit()
    if (a === null || !packet.topic.startsWith(`${topics.prefix}/invoke/`)) { done(null); return }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : Buffer.from(packet.payload)
    a({ topic: packet.topic, payload, retain: packet.retain === true }).then(() => done(null), () => done(null))
  }
  if (inner === undefined) next(null); else inner(client, packet, next)
}
