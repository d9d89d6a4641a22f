import type { Writable } from 'node:stream'

const batched = new WeakSet<Writable>()

/**
 * Gathers what is written to one MQTT connection within an event-loop turn into one system call.
 * mqtt-packet corks the stream for one tick per packet, and aedes hands each delivery its own
 * setImmediate, so under load every packet (a PUBACK, a run, a done, a reply) was a `writev` of
 * its own and a wakeup of its reader. Here the first write of a turn corks the stream until the
 * next turn's immediates: the packets of the turn leave together, in order. Backpressure is
 * unchanged (write() still reports a full buffer), end() flushes what is corked first, and a
 * stream is batched once however often this is called for it.
 */
export const batchWrites = (stream: Writable): void => {
  if (batched.has(stream)) return
  batched.add(stream)
  let corked = false
  const flush = (): void => {
    corked = false
    stream.uncork()
  }
  const write = stream.write
  stream.write = function (this: Writable, ...args: Parameters<Writable['write']>): boolean {
    if (!corked && !this.destroyed && !this.writableEnded) {
      corked = true
      this.cork()
      setImmediate(flush)
    }
    return write.apply(this, args)
  } as Writable['write']
}
