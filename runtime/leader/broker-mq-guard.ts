/** The parts of an mqemitter 7 instance (aedes's message bus, also under mqemitter-redis) this guard uses. */
interface Emitter {
  _parallel: (that: unknown, matches: unknown[], message: unknown, done: unknown) => void
}

/**
 * aedes routes every message through mqemitter, which runs at most `concurrency` (100) messages at
 * once and queues the rest. A finished message starts the next queued one from inside its own
 * completion, and a message that no subscription matches completes synchronously: a run of queued
 * messages that nobody subscribes to drains as one recursion per message and overflows the stack,
 * taking broker, leader and every connected board down with it (a flood to a topic whose only
 * subscriber just left, behind slow deliveries). Deferring the completion of an unmatched message to
 * the next turn of the event loop ends each such recursion after one step; nobody receives that
 * message, so no order changes. Patches mqemitter 7 internals (`_parallel`, an own property):
 * re-run test/leader/broker-mq-guard.test.ts when upgrading aedes or mqemitter.
 */
export const deferUnmatched = (mq: unknown): void => {
  const e = mq as Emitter
  if (typeof e._parallel !== 'function') throw new Error('aedes message bus without mqemitter internals: re-check broker-mq-guard.ts')
  const run = e._parallel
  e._parallel = function (this: unknown, that, matches, message, done) {
    if (matches.length === 0) setImmediate(() => { run.call(this, that, matches, message, done) })
    else run.call(this, that, matches, message, done)
  }
}
