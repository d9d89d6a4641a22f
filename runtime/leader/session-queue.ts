import AedesPacket from 'aedes-packet'
import { Readable } from 'node:stream'

/** What aedes queues for a persistent session: a PUBLISH (or, for QoS 2, a PUBREL) as aedes-packet builds it. */
export interface QueuedPacket {
  cmd?: string
  brokerId?: string
  brokerCounter?: number
  messageId?: number
  topic?: string
  payload?: Buffer | string
  [k: string]: unknown
}
interface ClientRef { readonly id: string }
interface SubRef { readonly clientId: string }
type Cb<T> = ((err: Error | null, a?: T, b?: unknown) => void) | undefined

/** The outgoing-queue face of an aedes persistence (aedes calls these promise-style; aedes-persistence's own tests, callback-style). */
export interface OutgoingPersistence {
  outgoingEnqueue: (sub: SubRef, packet: QueuedPacket, cb?: Cb<QueuedPacket>) => Promise<void> | undefined
  outgoingEnqueueCombi: (subs: readonly SubRef[], packet: QueuedPacket, cb?: Cb<QueuedPacket>) => Promise<void> | undefined
  outgoingUpdate: (client: ClientRef, packet: QueuedPacket, cb?: Cb<ClientRef>) => Promise<void> | undefined
  outgoingClearMessageId: (client: ClientRef, packet: QueuedPacket, cb?: Cb<QueuedPacket>) => Promise<QueuedPacket | undefined> | undefined
  outgoingStream: (client: ClientRef) => Readable
}

/** At most this many messages are kept queued per persistent session (Mosquitto's max_queued_messages is 1000 too). */
export const MAX_QUEUED_MESSAGES = 1000
/** At most this many bytes (topics and payloads) are kept queued per persistent session. */
export const MAX_QUEUED_BYTES = 8 * 1024 * 1024

// The packet class aedes-persistence itself copies queued messages with (a copy per session: each gets its own messageId).
const Packet = AedesPacket as unknown as new (p: QueuedPacket) => QueuedPacket

interface Entry { packet: QueuedPacket, readonly bytes: number }
interface Queue {
  /** By brokerId and brokerCounter, in the order queued (a Map keeps insertion order, and a replaced value its place). */
  readonly byKey: Map<string, Entry>
  /** messageId → key, for the PUBACK (PUBCOMP) that clears a message. */
  readonly byId: Map<number, string>
  bytes: number
}

const keyOf = (p: QueuedPacket): string => `${p.brokerId ?? ''}\u0000${p.brokerCounter ?? 0}`
const sizeOf = (p: QueuedPacket): number => (p.topic?.length ?? 0) + (typeof p.payload === 'string' ? Buffer.byteLength(p.payload) : p.payload?.length ?? 0)

/**
 * The messages queued for persistent sessions (clean = false): those sent and not yet
 * acknowledged, and those published while the session was offline. It replaces the queue of
 * aedes's memory persistence, an array searched from its start on every send and every PUBACK:
 * a client slow to acknowledge thousands of replies made each reply cost thousands of steps
 * (most of the gateway's CPU under 10x overload), and a session gone offline, or dropped for not
 * reading its socket, grew it without bound. Here each operation is O(1), and a session keeps
 * at most `maxMessages` messages and `maxBytes` bytes: past either the oldest are dropped
 * (counted in `dropped`). A dropped message still in flight to a connected client is still
 * delivered; it is only not sent again if the client reconnects before acknowledging it.
 */
export class SessionQueues implements OutgoingPersistence {
  private readonly queues = new Map<string, Queue>()
  /** Messages dropped because a session's queue was full, since start. */
  dropped = 0
  /**
   * Told of each PUBLISH just before aedes writes it to a persistent session's connection: aedes
   * calls outgoingUpdate and writes once its promise settles, with no I/O in between. `client`
   * is aedes's client (its `conn` the connection the write goes to).
   */
  onSend: (topic: string, client: ClientRef) => void = () => {}

  constructor (readonly maxMessages = MAX_QUEUED_MESSAGES, readonly maxBytes = MAX_QUEUED_BYTES) {}

  /** Messages queued for `clientId` (sent and unacknowledged, or waiting). */
  size (clientId: string): number { return this.queues.get(clientId)?.byKey.size ?? 0 }
  /** Bytes (topics and payloads) queued over every session. */
  get bytes (): number { let n = 0; for (const q of this.queues.values()) n += q.bytes; return n }

  /** Installs this queue in place of `p`'s own outgoing queue (an aedes-persistence instance). */
  install (p: object): void {
    const target = p as Record<keyof OutgoingPersistence, unknown>
    target.outgoingEnqueue = this.outgoingEnqueue.bind(this)
    target.outgoingEnqueueCombi = this.outgoingEnqueueCombi.bind(this)
    target.outgoingUpdate = this.outgoingUpdate.bind(this)
    target.outgoingClearMessageId = this.outgoingClearMessageId.bind(this)
    target.outgoingStream = this.outgoingStream.bind(this)
  }

  outgoingEnqueue (sub: SubRef, packet: QueuedPacket, cb?: Cb<QueuedPacket>): Promise<void> | undefined {
    return this.answer(() => { this.enqueue(sub.clientId, packet) }, cb, () => [packet])
  }

  outgoingEnqueueCombi (subs: readonly SubRef[], packet: QueuedPacket, cb?: Cb<QueuedPacket>): Promise<void> | undefined {
    return this.answer(() => { for (const s of subs) this.enqueue(s.clientId, packet) }, cb, () => [packet])
  }

  /**
   * A message's messageId once it is sent; or, for a PUBREL (no brokerId), the message with its
   * messageId replaced by it. A message no longer queued (dropped) is let through: it is sent anyway.
   */
  outgoingUpdate (client: ClientRef, packet: QueuedPacket, cb?: Cb<ClientRef>): Promise<void> | undefined {
    return this.answer(() => {
      if (packet.brokerId !== undefined && typeof packet.topic === 'string') this.onSend(packet.topic, client)
      const q = this.queues.get(client.id)
      if (q === undefined) return
      const key = keyOf(packet)
      const e = q.byKey.get(key)
      if (e !== undefined && packet.brokerId !== undefined) {
        if (e.packet.messageId !== undefined && q.byId.get(e.packet.messageId) === key) q.byId.delete(e.packet.messageId)
        e.packet.messageId = packet.messageId
        if (packet.messageId !== undefined) this.claim(q, packet.messageId, key)
        return
      }
      if (packet.messageId === undefined) return
      const other = q.byId.get(packet.messageId)
      const o = other === undefined ? undefined : q.byKey.get(other)
      if (other !== undefined && o !== undefined && o.packet.brokerId !== packet.brokerId) o.packet = packet
    }, cb, () => [client, packet])
  }

  /** The PUBACK (or PUBCOMP) of `packet.messageId`: the message leaves the queue, and is returned. */
  outgoingClearMessageId (client: ClientRef, packet: QueuedPacket, cb?: Cb<QueuedPacket>): Promise<QueuedPacket | undefined> | undefined {
    let found: QueuedPacket | undefined
    const p = this.answer(() => {
      const q = this.queues.get(client.id)
      if (q === undefined || packet.messageId === undefined) return
      const key = q.byId.get(packet.messageId)
      if (key === undefined) return
      q.byId.delete(packet.messageId)
      const e = q.byKey.get(key)
      if (e === undefined) return
      q.byKey.delete(key)
      q.bytes -= e.bytes
      found = e.packet
      if (q.byKey.size === 0) this.queues.delete(client.id)
    }, cb, () => [found])
    return p?.then(() => found)
  }

  /** What is queued for the client, oldest first (a snapshot: what changes after is not in it). */
  outgoingStream (client: ClientRef): Readable {
    return Readable.from([...(this.queues.get(client.id)?.byKey.values() ?? [])].map((e) => e.packet))
  }

  private enqueue (clientId: string, packet: QueuedPacket): void {
    let q = this.queues.get(clientId)
    if (q === undefined) { q = { byKey: new Map(), byId: new Map(), bytes: 0 }; this.queues.set(clientId, q) }
    const copy = new Packet(packet)
    const e: Entry = { packet: copy, bytes: sizeOf(copy) }
    const key = keyOf(copy)
    const old = q.byKey.get(key)
    if (old !== undefined) { q.byKey.delete(key); q.bytes -= old.bytes }
    q.byKey.set(key, e)
    q.bytes += e.bytes
    while (q.byKey.size > 1 && (q.byKey.size > this.maxMessages || q.bytes > this.maxBytes)) this.dropOldest(q)
  }

  private dropOldest (q: Queue): void {
    const first = q.byKey.entries().next()
    if (first.done === true) return
    const [key, e] = first.value
    q.byKey.delete(key)
    q.bytes -= e.bytes
    if (e.packet.messageId !== undefined && q.byId.get(e.packet.messageId) === key) q.byId.delete(e.packet.messageId)
    this.dropped++
  }

  /** `messageId` now names `key`. An older message that held it (its id reused after 65,535) stays queued, as in aedes-persistence, until the bound drops it. */
  private claim (q: Queue, messageId: number, key: string): void {
    q.byId.set(messageId, key)
  }

  /** Runs `op` and answers the way the caller asked: a promise, or the callback (on the next tick, as aedes-persistence does). */
  private answer<T> (op: () => void, cb: Cb<T>, args: () => [T | undefined, unknown?]): Promise<void> | undefined {
    if (cb === undefined) {
      try { op(); return Promise.resolve() } catch (err) { return Promise.reject(err as Error) }
    }
    try { op() } catch (err) { process.nextTick(cb, err as Error); return undefined }
    process.nextTick(cb, null, ...args())
    return undefined
  }
}
