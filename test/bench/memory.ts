import { IsolatePool } from '../../runtime/agent/isolate-pool.js'
import { figure, info, report, spread } from './lib/figures.js'
import { manifestOf, req } from './lib/functions.js'

// Memory per additional in-flight invocation when init builds ~20 MB of state, measured two
// ways: process RSS (after a forced GC) and the isolates' own heap statistics (used heap plus
// external memory, summed over the pool's runtimes). Each figure is the median of ROUNDS
// independent runs, reported with the smallest and largest, since one RSS sample is noise.
const ROUNDS = Number(process.env.WISP_BENCH_ROUNDS ?? 5)
const code = `export async function init () { const a = []; for (let i = 0; i < 400000; i++) a.push({ i, s: 'v' + i }); return { a } }
export async function handler (event, context) { await new Promise((r) => setTimeout(r, event.hold)); return context.shared.a.length }
`
const rss = (): number => { (globalThis as { gc?: () => void }).gc?.(); return process.memoryUsage().rss / 1024 }
const heap = (pool: IsolatePool): number => pool.memMb() * 1024
const settle = () => new Promise((r) => setTimeout(r, 300))

interface Sample { rss: number, heap: number }
/** Added RSS and isolate heap, KiB, with n invocations held in flight on a pool already warm. */
const inFlight = async (n: number, make: () => { pool: IsolatePool, start: () => Promise<unknown> }, warm: boolean, holdMs: number): Promise<Sample> => {
  const { pool, start } = make()
  if (warm) await start() // builds the shared runtime once
  await pool.sparesReady() // the spare replaced after that cold start is a fixed cost, not a marginal one
  const base = { rss: rss(), heap: heap(pool) }
  const hold = Array.from({ length: n }, () => start())
  await (warm ? settle() : new Promise((r) => setTimeout(r, holdMs - 500)))
  const out = { rss: rss() - base.rss, heap: heap(pool) - base.heap }
  await Promise.all(hold)
  await pool.close()
  return out
}
const mode = (isolation: 'shared' | 'context') => () => {
  // Spares of the function's size, as a board's pool settles on (no spare of another size made and dropped).
  const pool = new IsolatePool({ budgetMb: 8192, maxRuntimesPerFunction: 1, spareMemoryMb: 512 })
  const m = manifestOf(`mem-${isolation}`, code, { isolation, memory_mb: 512, concurrency: 200 })
  return { pool, start: () => pool.invoke(req(m, code, { hold: 1500 })) }
}
// One isolate per invocation: each in-flight invocation needs its own runtime (and its own init).
const perIsolate = () => {
  const pool = new IsolatePool({ budgetMb: 65536, maxRuntimesPerFunction: 1000, spareMemoryMb: 128 })
  const m = manifestOf('mem-iso', code, { memory_mb: 128, concurrency: 1 })
  return { pool, start: () => pool.invoke(req(m, code, { hold: 3000 })) }
}
const marginal = (a: Sample, b: Sample, na: number, nb: number): Sample => ({ rss: (b.rss - a.rss) / (nb - na), heap: (b.heap - a.heap) / (nb - na) })

const runs = { shared: [] as Sample[], context: [] as Sample[], iso: [] as Sample[], sharedAt100: [] as Sample[], isoAt100: [] as Sample[] }
for (let r = 0; r < ROUNDS; r++) {
  const s10 = await inFlight(10, mode('shared'), true, 0)
  const s100 = await inFlight(100, mode('shared'), true, 0)
  const c10 = await inFlight(10, mode('context'), true, 0)
  const c100 = await inFlight(100, mode('context'), true, 0)
  const i1 = await inFlight(1, perIsolate, false, 3000)
  const i25 = await inFlight(25, perIsolate, false, 3000)
  const iso = marginal(i1, i25, 1, 25)
  runs.shared.push(marginal(s10, s100, 10, 100))
  runs.context.push(marginal(c10, c100, 10, 100))
  runs.iso.push(iso)
  runs.sharedAt100.push(s100)
  runs.isoAt100.push({ rss: i1.rss + iso.rss * 99, heap: i1.heap + iso.heap * 99 }) // extrapolated from 1..25
  console.log(`round ${r + 1}/${ROUNDS}: shared ${runs.shared.at(-1)!.rss.toFixed(1)} KiB, context ${runs.context.at(-1)!.rss.toFixed(1)} KiB, isolate ${iso.rss.toFixed(0)} KiB per in-flight invocation (RSS)`)
}
const of = (xs: Sample[], k: keyof Sample) => spread(xs.map((x) => x[k]))
const ISO = 'isolate per invocation'
const sharedRss = of(runs.shared, 'rss')
const contextRss = of(runs.context, 'rss')
const isoRss = of(runs.iso, 'rss')
const at100 = of(runs.sharedAt100, 'rss')
const isoAt100 = of(runs.isoAt100, 'rss')
report('memory', [
  figure({ figure: 'marginal RSS per in-flight invocation, shared mode', ...sharedRss, unit: 'KiB', baseline: ISO, baseline_value: isoRss.value, goal: '<= 50 KiB', met: sharedRss.value <= 50 }),
  figure({ figure: 'marginal RSS per in-flight invocation, context mode', ...contextRss, unit: 'KiB', baseline: ISO, baseline_value: isoRss.value, goal: '<= 1024 KiB', met: contextRss.value <= 1024 }),
  info({ figure: 'marginal RSS per in-flight invocation, isolate per invocation', ...isoRss, unit: 'KiB', baseline: null, baseline_value: null }),
  // Isolate heap statistics of the shared runtime: far less noisy than RSS. (A pool of
  // isolates that are mid-invocation does not report its heaps, so there is no heap baseline.)
  info({ figure: 'marginal isolate heap per in-flight invocation, shared mode', ...of(runs.shared, 'heap'), unit: 'KiB', baseline: null, baseline_value: null }),
  info({ figure: 'marginal isolate heap per in-flight invocation, context mode', ...of(runs.context, 'heap'), unit: 'KiB', baseline: null, baseline_value: null }),
  figure({ figure: 'added RSS at 100 in flight, shared mode (isolate-per-invocation extrapolated from 1..25)', ...at100, unit: 'KiB', baseline: ISO, baseline_value: isoAt100.value, goal: '<= 0.1', met: at100.value / isoAt100.value <= 0.1 })
], { rounds: ROUNDS })
