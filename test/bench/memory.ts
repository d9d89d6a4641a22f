import { IsolatePool } from '../../runtime/agent/isolate-pool.js'
import { figure, info, report } from './lib/figures.js'
import { manifestOf, req } from './lib/functions.js'

// RSS per additional in-flight invocation when init builds ~20 MB of state.
const code = `export async function init () { const a = []; for (let i = 0; i < 400000; i++) a.push({ i, s: 'v' + i }); return { a } }
export async function handler (event, context) { await new Promise((r) => setTimeout(r, event.hold)); return context.shared.a.length }
`
const rss = (): number => { (globalThis as { gc?: () => void }).gc?.(); return process.memoryUsage().rss / 1024 }
const settle = () => new Promise((r) => setTimeout(r, 300))

const inFlight = async (levels: number[], make: (n: number) => { pool: IsolatePool, start: () => Promise<unknown> }): Promise<Map<number, number>> => {
  const out = new Map<number, number>()
  for (const n of levels) {
    const { pool, start } = make(n)
    await start() // builds the runtime(s) once
    await pool.sparesReady() // the spare replaced after that cold start is a fixed cost, not a marginal one
    const base = rss()
    const hold = Array.from({ length: n }, () => start())
    await settle()
    out.set(n, rss() - base)
    await Promise.all(hold)
    await pool.close()
  }
  return out
}
const mode = (isolation: 'shared' | 'context') => (_n: number) => {
  // Spares of the function's size, as a board's pool settles on (no spare of another size made and dropped).
  const pool = new IsolatePool({ budgetMb: 8192, maxRuntimesPerFunction: 1, spareMemoryMb: 512 })
  const m = manifestOf(`mem-${isolation}`, code, { isolation, memory_mb: 512, concurrency: 200 })
  return { pool, start: () => pool.invoke(req(m, code, { hold: 1500 })) }
}
const levels = [1, 10, 50, 100]
const shared = await inFlight(levels, mode('shared'))
const context = await inFlight(levels, mode('context'))
// One isolate per invocation: each in-flight invocation needs its own runtime (and its own init).
const perIso = new Map<number, number>()
for (const n of [1, 10, 25]) {
  const pool = new IsolatePool({ budgetMb: 65536, maxRuntimesPerFunction: 1000, spareMemoryMb: 128 })
  const m = manifestOf('mem-iso', code, { memory_mb: 128, concurrency: 1 })
  await pool.sparesReady()
  const base = rss()
  const hold = Array.from({ length: n }, () => pool.invoke(req(m, code, { hold: 3000 })))
  await new Promise((r) => setTimeout(r, 2500))
  perIso.set(n, rss() - base)
  await Promise.all(hold)
  await pool.close()
}
const marginal = (m: Map<number, number>, a: number, b: number): number => ((m.get(b) ?? 0) - (m.get(a) ?? 0)) / (b - a)
const sharedKiB = marginal(shared, 10, 100)
const contextKiB = marginal(context, 10, 100)
const isoKiB = marginal(perIso, 1, 25)
const isoAt100 = (perIso.get(1) ?? 0) + isoKiB * 99 // extrapolated from 1..25
const sharedAt100 = shared.get(100) ?? 0
report('memory', [
  figure({ figure: 'marginal RSS per in-flight invocation, shared mode', value: sharedKiB, unit: 'KiB', baseline: 'isolate per invocation', baseline_value: isoKiB, goal: '<= 50 KiB', met: sharedKiB <= 50 }),
  figure({ figure: 'marginal RSS per in-flight invocation, context mode', value: contextKiB, unit: 'KiB', baseline: 'isolate per invocation', baseline_value: isoKiB, goal: '<= 1024 KiB', met: contextKiB <= 1024 }),
  info({ figure: 'marginal RSS per in-flight invocation, isolate per invocation', value: isoKiB, unit: 'KiB', baseline: null, baseline_value: null }),
  figure({ figure: 'added RSS at 100 in flight, shared mode (isolate-per-invocation extrapolated from 1..25)', value: sharedAt100, unit: 'KiB', baseline: 'isolate per invocation', baseline_value: isoAt100, goal: '<= 0.1', met: sharedAt100 / isoAt100 <= 0.1 })
])
