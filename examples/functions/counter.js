// Module-level state is shared by the invocations that co-execute in one runtime
// (isolation "shared", the default, as Photons shares global state). Each warm runtime
// keeps its own count, so a board with two runtimes of `counter` has two counts, and a
// runtime that is evicted starts again from zero: use it for caches and warm state, never
// for data that must survive. Deploy with --isolation context to give every invocation
// fresh globals instead (then `count` is always 1).
let count = 0
const startedAt = Date.now()

export async function handler (event, context) {
  count += Number.isFinite(event?.by) ? event.by : 1
  return { count, runtimeAgeMs: Date.now() - startedAt, board: context.board }
}
