/**
 * Node flags of a board's agent process, on a real board (the systemd unit) and a simulated
 * one (`wisp start`) alike. A young generation of 1 MB semi-spaces (Node 20's default is 16 MB)
 * keeps about 15 MB less resident on x86-64 in an agent after its first invocations (measured
 * with test/bench/footprint.ts); its scavenges are more frequent but small. Not given to
 * isolate hosts: V8 flags hold for every isolate of a process, so there they would change how
 * functions run.
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1']

/** Every wisp process that makes isolates: isolated-vm 5 needs it on Node 20. */
export const NODE_FLAGS: readonly string[] = Object.freeze(['--no-node-snapshot'])

/**
 * The V8 heap of a process that hosts the gateway (broker and leader). Its live heap is small
 * and bounded (the leader refuses past maxInflight, maxInflightBytes and the boards' queue
 * limits) while under overload it turns over thousands of short-lived messages a second. V8's
 * defaults are tuned for throughput on machines with memory to spare: the young generation
 * grows to two 16 MB semi-spaces, and after each full GC the old generation may grow to up to
 * four times what survived before the next one. On a gateway that memory is only garbage
 * waiting, and V8 seldom returns it, so it shows as RSS the machine never gets back.
 * - `--max-semi-space-size=4`: a young generation of at most 2 × 4 MB. Scavenges come more
 *   often; each costs what survives it (the in-flight invocations), not the semi-space's size.
 * - `--heap-growing-percent=50`: the old generation grows to 1.5 × what survived the last full
 *   GC before the next. Full GCs come more often; each marks the live heap, which is small.
 * The price is CPU: more frequent GCs (measured in test/bench/overload-memory.ts).
 */
export const GATEWAY_HEAP_FLAGS: readonly string[] = Object.freeze(['--max-semi-space-size=4', '--heap-growing-percent=50'])

/** The commands whose process hosts the gateway (`wisp start` runs its boards as child processes). */
export const GATEWAY_COMMANDS: readonly string[] = Object.freeze(['gateway', 'start'])

/** The Node flags `wisp <command>` runs with. */
export const nodeFlags = (command: string | undefined): string[] =>
  [...NODE_FLAGS, ...(command !== undefined && GATEWAY_COMMANDS.includes(command) ? GATEWAY_HEAP_FLAGS : [])]

/**
 * Extra Node flags for every process a board starts (its agent, through `wisp start`, and its
 * isolate hosts), from WISP_NODE_ARGS (whitespace-separated), e.g. `--cpu-prof --cpu-prof-dir=p`
 * to profile them: flags such as --cpu-prof are not allowed in NODE_OPTIONS. Empty when unset.
 */
export const extraNodeArgs = (env: NodeJS.ProcessEnv = process.env): string[] =>
  (env.WISP_NODE_ARGS ?? '').split(/\s+/).filter((a) => a !== '')
