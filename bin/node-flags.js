// Node and V8 flags of the processes bin/wisp.js starts. Plain JavaScript: bin/wisp.js reads it
// before tsx is loaded. The benchmarks that host a gateway in their own process use the same list.

/** Every wisp process: isolated-vm 5 needs it on Node 20. */
export const NODE_FLAGS = Object.freeze(['--no-node-snapshot'])

/**
 * The V8 heap of a process that hosts the gateway (broker and leader). Its live heap is small
 * and bounded (the leader refuses past maxInflight, maxInflightBytes and the boards' queue
 * limits) while under overload it turns over thousands of short-lived messages a second. V8's
 * defaults are tuned for throughput on machines with memory to spare: the young generation
 * grows to two 16 MB semi-spaces, and after each full GC the old generation may grow to up to
 * four times what survived before the next one. On a gateway that memory is only garbage
 * waiting, and V8 seldom returns it, so it shows as RSS the board never gets back.
 * - `--max-semi-space-size=4`: a young generation of at most 2 × 4 MB. Scavenges come more
 *   often; each costs what survives it (the in-flight invocations), not the semi-space's size.
 * - `--heap-growing-percent=50`: the old generation grows to 1.5 × what survived the last full
 *   GC before the next. Full GCs come more often; each marks the live heap, which is small.
 */
export const GATEWAY_HEAP_FLAGS = Object.freeze(['--max-semi-space-size=4', '--heap-growing-percent=50'])

/** The commands whose process hosts the gateway (`wisp start` runs its boards as child processes). */
export const GATEWAY_COMMANDS = Object.freeze(['gateway', 'start'])

/** The flags of `wisp <command>`. */
export const nodeFlags = (command) => [...NODE_FLAGS, ...(GATEWAY_COMMANDS.includes(command) ? GATEWAY_HEAP_FLAGS : [])]
