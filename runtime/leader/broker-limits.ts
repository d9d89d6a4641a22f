import type { AedesOptions } from 'aedes'
import { MAX_CODE_BYTES, MAX_EVENT_BYTES_CEILING, MAX_MESSAGE_BYTES } from '../protocol/messages.js'
import type { Topics } from '../protocol/topics.js'

type AuthorizePublish = NonNullable<AedesOptions['authorizePublish']>

/** A topic under the prefix that wisp does not define: nothing of wisp's needs more. */
export const MAX_UNKNOWN_WISP_BYTES = 64 * 1024
/** Topics outside the prefix (the broker also serves other MQTT traffic): the documented 2 MiB and some room. */
export const MAX_FOREIGN_BYTES = 4 * 1024 * 1024

/**
 * The largest payload the embedded broker accepts on `topic`, by the kind of message wisp carries
 * there: an invoke up to the largest event any configuration allows (the leader answers
 * WISP_PAYLOAD_TOO_LARGE beyond the configured limit, so the client hears why), code up to
 * MAX_CODE_BYTES, and each board and leader message up to its kind's MAX_MESSAGE_BYTES.
 */
export const maxPayloadBytes = (topics: Topics, topic: string): number => {
  if (!topic.startsWith(`${topics.prefix}/`)) return MAX_FOREIGN_BYTES
  let t
  try { t = topics.parse(topic) } catch { return MAX_UNKNOWN_WISP_BYTES }
  switch (t.kind) {
    case 'invoke': return MAX_EVENT_BYTES_CEILING
    case 'code': return MAX_CODE_BYTES
    case 'function': return MAX_MESSAGE_BYTES.manifest
    case 'result': return MAX_MESSAGE_BYTES.reply
    case 'leader-state': return MAX_MESSAGE_BYTES.state
    case 'board': return t.channel === 'state' ? MAX_MESSAGE_BYTES.state : MAX_MESSAGE_BYTES[t.channel]
  }
}

/** No topic's limit is below this: a payload this small passes without its topic being parsed (most of them). */
export const FITS_EVERY_TOPIC = Math.min(MAX_UNKNOWN_WISP_BYTES, MAX_FOREIGN_BYTES, MAX_EVENT_BYTES_CEILING, MAX_CODE_BYTES, ...Object.values(MAX_MESSAGE_BYTES))

/**
 * aedes's authorizePublish with a size limit per topic kind in front: an oversized PUBLISH is
 * refused (for MQTT 3.1.1 aedes then closes the connection, §4.8 leaving that to the server), so
 * it is neither retained nor forwarded to any subscriber.
 */
export const limitPublishSize = (topics: Topics, inner?: AuthorizePublish): AuthorizePublish => (client, packet, done) => {
  const bytes = typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length
  const max = bytes <= FITS_EVERY_TOPIC ? FITS_EVERY_TOPIC : maxPayloadBytes(topics, packet.topic)
  if (bytes > max) { done(new Error(`a ${bytes}-byte PUBLISH on ${packet.topic.slice(0, 128)} is over its limit of ${max} bytes`)); return }
  if (inner === undefined) done(null); else inner(client, packet, done)
}
