import type { Writable } from 'node:stream'

/** Each batched stream: whether its writes still wait for the turn's end (false: written through), and its flush. */
const batched = new WeakMap<Writable, { on: boolean, flush: () => void }>()

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
    on: true,
    flush: (): void => {
      if (!corked) return
      corked = false
      stream.uncork()
    }
  }
  batched.set(stream, state)
  const write = stream.write
  stream.write = function (this: Writable, ...args: Parameters<Writable['write']>): boolean {
    if (state.on && !corked && !this.destroyed && !this.writableEnded) {
      corked = true
      this.cork()
      setImmediate(state.flush)
    }
    return write.apply(this, args)
  } as Writable['write']
}

/**
 * From now on each write to `stream` leaves at once (what is corked leaves now): for a connection
 * whose writes something else is timed against (docs/delivery.md: a persistent session's reply
 * is forgotten just before it is written, and must not then wait a turn in the process).
 */
export const writeThrough = (stream: Writable): void => {
  const state = batched.get(stream)
  if (state === undefined) return
  state.on = false
  state.flush()
}
