/** The parts of an mqemitter 7 instance (aedes's message bus, also under mqemitter-redis) this guard uses. */
interface Emitter {
  _parallel: (that: unknown, matches: unknown[], message: unknown, done: unknown) => void
}

/** Unmatched messages completed within one call stack before the next one waits for the next turn. */
export const UNMATCHED_DEPTH = 256

/**
 * aedes routes every message through mqemitter, which runs at most `concurrency` (100) messages at
 * once and queues the rest. A finished message starts the next queued one from inside its own
 * completion, and a message that no subscription matches completes synchronously: a run of queued
 * messages that nobody subscribes to drains as one recursion per message and overflows the stack,
 * taking broker, leader and every connected board down with it (a flood to a topic whose only
 * subscriber just left, behind slow deliveries). Past UNMATCHED_DEPTH nested completions, an
 * unmatched message completes on the next turn of the event loop, which starts a fresh stack; the
 * rest of the drain stays synchronous, as before (a drain spread over thousands of turns would let
 * a subscriber that returns meanwhile receive what was published before it left). Nobody receives
 * an unmatched message, so no order changes. Patches mqemitter 7 internals (`_parallel`, an own
 * property): re-run test/leader/broker-mq-guard.test.ts when upgrading aedes or mqemitter.
 */
export const deferUnmatched = (mq: unknown): void => {
  const e = mq as Emitter
  if (typeof e._parallel !== 'function') throw new Error('aedes message bus without mqemitter internals: re-check broker-mq-guard.ts')
  const run = e._parallel
  let depth = 0
  e._parallel = function (this: unknown, that, matches, message, done) {
    if (matches.length === 0 && depth >= UNMATCHED_DEPTH) { setImmediate(() => { run.call(this, that, matches, message, done) }); return }
    depth++
    try { run.call(this, that, matches, message, done) } finally { depth-- }
  }
}
