/**
 * Node flags of a board's agent process, on a real board (the systemd unit) and a simulated
 * one (`wisp start`) alike. A young generation of 1 MB semi-spaces (Node 20's default is 16 MB)
 * keeps about 15 MB less resident on x86-64 in an agent after its first invocations (measured
 * with test/bench/footprint.ts); its scavenges are more frequent but small. Not given to
 * isolate hosts: V8 flags hold for every isolate of a process, so there they would change how
 * functions run.
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1']

/**
 * Extra Node flags for every process a board starts (its agent, through `wisp start`, and its
 * isolate hosts), from WISP_NODE_ARGS (whitespace-separated), e.g. `--cpu-prof --cpu-prof-dir=p`
 * to profile them: flags such as --cpu-prof are not allowed in NODE_OPTIONS. Empty when unset.
 */
export const extraNodeArgs = (env: NodeJS.ProcessEnv = process.env): string[] =>
  (env.WISP_NODE_ARGS ?? '').split(/\s+/).filter((a) => a !== '')
