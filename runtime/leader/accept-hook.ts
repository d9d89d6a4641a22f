import type { AedesOptions } from 'aedes'
import type { Topics } from '../protocol/topics.js'
import type { InboundMessage } from '../transport/transport.js'

type AuthorizePublish = NonNullable<AedesOptions['authorizePublish']>

/** Who takes a client's PUBLISH before its PUBACK: the leader's invokes, and the trigger runner's topics. */
export interface Acceptors {
  /** An invoke (`<prefix>/invoke/...`); resolves once what it accepted is on disk. */
  readonly invoke: (m: InboundMessage) => Promise<void>
  /** A message on a topic outside the prefix (a trigger topic, or none); resolves once what it accepted is on disk. */
  readonly trigger: (m: InboundMessage) => Promise<void>
}

/**
 * aedes answers a QoS 1 PUBLISH with PUBACK before it routes the message (its
 * lib/handlers/publish.js), so a leader that learns of an invoke or a trigger message by
 * subscription could be killed after the client was told "received" and before the invocation
 * was on disk. Its `authorizePublish` hook runs before the PUBACK: there the leader admits the
 * invoke (or the trigger runner the message) and the hook returns once that is written, so a
 * PUBACKed invoke or trigger message survives a crash (MQTT 3.1.1 §4.3.2: the sender may discard
 * the message once it has the PUBACK). Other topics under the prefix (boards' state and done)
 * pass at once.
 */
export const acceptBeforePuback = (
  topics: Topics,
  acceptors: () => Acceptors | null,
  inner?: AuthorizePublish
): AuthorizePublish => (client, packet, done) => {
  const next = (err?: Error | null): void => {
    if (err !== null && err !== undefined) { done(err); return }
    const a = acceptors()
    const underPrefix = packet.topic.startsWith(`${topics.prefix}/`)
    const accept = a === null ? undefined : packet.topic.startsWith(`${topics.prefix}/invoke/`) ? a.invoke : underPrefix ? undefined : a.trigger
    if (accept === undefined) { done(null); return }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : Buffer.from(packet.payload)
    accept({ topic: packet.topic, payload, retain: packet.retain === true, qos: packet.qos }).then(() => done(null), () => done(null))
  }
  if (inner === undefined) next(null); else inner(client, packet, next)
}
