import type { Writable } from 'node:stream'

/** Each batched stream: whether its next write leaves at once, and its flush. */
const batched = new WeakMap<Writable, { next: boolean, flush: () => void }>()

/**
 * Gathers what is written to one MQTT connection within an event-loop turn into one system call.
 * mqtt-packet corks the stream for one tick per packet, and aedes hands each delivery its own
 * setImmediate, so under load every packet (a PUBACK, a run, a done, a reply) was a `writev` of
 * its own and a wakeup of its reader. Here the first write of a turn corks the stream until the
 * next turn's immediates: the packets of the turn leave together, in order, before any callback
 * the writer scheduled after them (aedes's write confirmation is an immediate queued later).
 * Backpressure is unchanged (write() still reports a full buffer), end() flushes what is corked
 * first, and a stream is batched once however often this is called for it.
 */
export const batchWrites = (stream: Writable): void => {
  if (batched.has(stream)) return
  let corked = false
  const state = {
    next: false,
    flush: (): void => {
      if (!corked) return
      corked = false
      stream.uncork()
    }
  }
  batched.set(stream, state)
  const write = stream.write
  stream.write = function (this: Writable, ...args: Parameters<Writable['write']>): boolean {
    if (!corked && !this.destroyed && !this.writableEnded) {
      corked = true
      this.cork()
      setImmediate(state.flush)
    }
    const ok = write.apply(this, args)
    if (state.next) { state.next = false; state.flush() }
    return ok
  } as Writable['write']
}

/**
 * The next write to `stream` leaves at once, with what is corked before it (a packet's own
 * chunks follow within the tick, as mqtt-packet uncorks): for a write something else is timed
 * against. A persistent session's reply is journalled as answered just before aedes writes it
 * (docs/delivery.md): it must not then wait a turn in the process.
 */
export const writeNextAtOnce = (stream: Writable): void => {
  const state = batched.get(stream)
  if (state !== undefined) state.next = true
}
