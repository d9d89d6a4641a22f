import type { AedesOptions } from 'aedes'

type PreConnect = NonNullable<AedesOptions['preConnect']>
type AedesClient = Parameters<PreConnect>[0]

interface Numbered { brokerId?: string | null, brokerCounter?: number }
type Deliver = (packet: Numbered, cb: () => void) => void
/** The parts of an aedes 1.x client its duplicate check uses (lib/client.js `dedupe`, `deliverQoS`, `deliver0`). */
interface DedupeParts { duplicates: Record<string, number>, deliverQoS: Deliver, deliver0: Deliver }

/** Message numbers remembered per subscriber and publishing broker: far more than one routing step can repeat. */
export const RECENT_PER_BROKER = 4096

/**
 * aedes numbers each message when it takes it (`brokerCounter`) and, per subscriber, drops a
 * message numbered at or below the highest one that subscriber already got: its check against
 * delivering one message twice through overlapping subscriptions. But a QoS 1 message is routed
 * only after its offline-queue step (and a retained one after it is stored), while a QoS 0 message
 * taken later is routed at once: the later message overtakes, and the subscriber of both silently
 * loses the QoS 1 message (aedes issue 994; an admin reply or a capability reply overtaken by a
 * client's QoS 0 publish, a probe overtaken on a clustered gateway whose queue step goes to Redis).
 *
 * This preConnect hook, run before a client can subscribe, makes the check exact: a message is
 * dropped only when that very number from that broker was delivered to the client before.
 * Overlapping subscriptions still get one copy; an overtaken message is no longer lost.
 */
export const exactDedupe = (inner?: PreConnect): PreConnect => (client, packet, done) => {
  exactDuplicates(client)
  if (inner === undefined) done(null, true); else inner(client, packet, done)
}

const exactDuplicates = (client: AedesClient): void => {
  const c = client as unknown as DedupeParts
  if (typeof c.deliverQoS !== 'function' || typeof c.deliver0 !== 'function' || typeof c.duplicates !== 'object') return
  const seen = new Map<string, Set<number>>()
  // The message the check is about: aedes reads `duplicates[id]` synchronously at the start of deliverQoS/deliver0.
  let current: Numbered | null = null
  c.duplicates = new Proxy(Object.create(null) as Record<string, number>, {
    // aedes forwards when `(duplicates[id] || 0) < counter`: answer 0 for a new number and the number itself for a repeat.
    get: (_, id) => {
      const n = current?.brokerCounter
      if (typeof id !== 'string' || current === null || current.brokerId !== id || n === undefined) return 0
      return seen.get(id)?.has(n) === true ? n : 0
    },
    set: (_, id, n) => {
      if (typeof id !== 'string' || typeof n !== 'number') return true
      let s = seen.get(id)
      if (s === undefined) { s = new Set(); seen.set(id, s) }
      s.add(n)
      // Oldest first (insertion order): forget beyond the bound.
      if (s.size > RECENT_PER_BROKER) s.delete(s.values().next().value as number)
      return true
    },
    // A broker of the cluster restarted (its `$SYS/<id>/birth`): its numbers start again.
    deleteProperty: (_, id) => { if (typeof id === 'string') seen.delete(id); return true }
  })
  const wrap = (deliver: Deliver): Deliver => (packet, cb) => {
    const outer = current
    current = packet
    try { deliver(packet, cb) } finally { current = outer }
  }
  c.deliverQoS = wrap(c.deliverQoS)
  c.deliver0 = wrap(c.deliver0)
}
