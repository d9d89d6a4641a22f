import type { Socket } from 'node:net'

/**
 * Gathers what the broker writes to one client within an event-loop turn into one system call.
 * aedes hands each delivery its own setImmediate, and mqtt-packet uncorks the socket at the next
 * tick after each packet, so under load every packet (a PUBACK, a run, a reply) was a `writev`
 * of its own and a wakeup of its reader. Here the first write of a turn corks the socket until
 * the next turn's immediates: the packets of the turn leave together, in order. Backpressure is
 * unchanged (write() still reports a full buffer), and end()/destroy() flush or drop as before.
 */
export const batchWrites = (socket: Socket): void => {
  let corked = false
  const flush = (): void => {
    corked = false
    socket.uncork()
  }
  const write = socket.write
  socket.write = function (this: Socket, ...args: Parameters<Socket['write']>): boolean {
    if (!corked && !this.destroyed && !this.writableEnded) {
      corked = true
      this.cork()
      setImmediate(flush)
    }
    return write.apply(this, args)
  } as Socket['write']
}
