/** Messages sent in one event-loop turn, travelling as one IPC message. */
export interface Batch<M> { readonly t: 'batch', readonly msgs: readonly M[] }

/**
 * Sends over a child-process IPC channel the messages of one event-loop turn as one: a message
 * of its own per invocation start, `running` and `done` was a system call and a serialisation
 * each on both sides of the channel (and a wakeup of the reader). The first message of a turn
 * waits for the next turn's immediates, and a message alone still goes as itself. `write` is
 * called with what to send; messages queued for a channel that has since closed are dropped, as
 * a send on it would have been.
 */
export const batchedSend = <M>(write: (m: M | Batch<M>) => void): (m: M) => void => {
  let queued: M[] = []
  const flush = (): void => {
    const msgs = queued
    queued = []
    if (msgs.length === 1) write(msgs[0] as M)
    else write({ t: 'batch', msgs })
  }
  return (m) => {
    queued.push(m)
    if (queued.length === 1) setImmediate(flush)
  }
}

/** Calls `each` for every message of `m`, in order: `m` itself, or the messages of a batch. */
export const unbatch = <M extends { t: string }>(m: M | Batch<M>, each: (m: M) => void): void => {
  // Whatever came (the host runs untrusted code; junk is the handler's to refuse), only a batch is unpacked.
  if (typeof m !== 'object' || m === null || m.t !== 'batch') { each(m as M); return }
  const msgs = (m as Batch<M>).msgs
  if (!Array.isArray(msgs)) return
  for (const x of msgs) each(x as M)
}
