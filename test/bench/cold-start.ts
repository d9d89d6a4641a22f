import { fork } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import vm from 'node:vm'
import { Worker } from 'node:worker_threads'
import { MemoryCodeCache } from '../../runtime/agent/code-cache.js'
import { IsolatePool } from '../../runtime/agent/isolate-pool.js'
import { toScript } from '../../runtime/agent/module-compiler.js'
import { figure, info, median, quantile, report } from './lib/figures.js'
import { bigModule, manifestOf, req } from './lib/functions.js'

// Cold start: a new runtime (isolate + compile + top level) for a 200 KB function, to its first reply.
// Figures are medians (p50) of 30 runs (10 without a code cache), with the p99 beside them; a
// failed cold start aborts the run.
// The module exports ~1,900 functions, as a bundle of dependencies might.
const code = bigModule()
const m = manifestOf('cold', code)
const dir = mkdtempSync(join(tmpdir(), 'wisp-cold-'))
const file = join(dir, 'fn.mjs')
writeFileSync(file, code + '\nif (process.send) handler({}).then((r) => { process.send(r); process.exit(0) })\n')
const workerFile = join(dir, 'worker.mjs')
writeFileSync(workerFile, `import { parentPort } from 'node:worker_threads'\nimport { handler } from ${JSON.stringify(file)}\nparentPort.postMessage(await handler({}))\n`)

const time = async (f: () => Promise<unknown>, runs: number): Promise<number> => {
  const xs: number[] = []
  for (let i = 0; i < runs; i++) { const t0 = performance.now(); await f(); xs.push(performance.now() - t0) }
  return median(xs)
}
/**
 * One cold start on a new pool, timed from the invocation to its reply. "Spare ready": the
 * pool had its blank isolate of the function's size made beforehand, as a board's pool has
 * between cold starts. "No spare": the pool makes the isolate and its main context on the
 * cold start's path.
 */
const coldStart = async (cache: MemoryCodeCache, spare: boolean): Promise<number> => {
  const p = new IsolatePool({ budgetMb: 256, cache, spares: spare ? 1 : 0, spareMemoryMb: m.memory_mb })
  await p.sparesReady()
  const t0 = performance.now()
  const o = await p.invoke(req(m, code))
  const ms = performance.now() - t0
  await p.close()
  if (!o.ok) throw o.error
  if (!o.cold) throw new Error('not a cold start')
  return ms
}
const samples = async (f: () => Promise<number>, runs: number): Promise<number[]> => {
  const xs: number[] = []
  for (let i = 0; i < runs; i++) xs.push(await f())
  return xs
}

const warmCache = new MemoryCodeCache()
await coldStart(warmCache, true)
await coldStart(new MemoryCodeCache(), false) // warms esbuild and the prelude bundle
const withCacheRuns = await samples(() => coldStart(warmCache, true), 30)
const noSpareRuns = await samples(() => coldStart(warmCache, false), 30)
const withCache = median(withCacheRuns)
const noSpare = median(noSpareRuns)
const noCache = median(await samples(() => coldStart(new MemoryCodeCache(), false), 10))
const script = await toScript('cold', code)
const vmCtx = await time(async () => {
  const ctx = vm.createContext({})
  const exp = new vm.Script(script).runInContext(ctx) as { handler: (e: unknown) => Promise<unknown> }
  await exp.handler({})
}, 20)
const worker = await time(() => new Promise((resolve, reject) => {
  const w = new Worker(workerFile, { execArgv: [] })
  w.once('message', (r) => { void w.terminate(); resolve(r) })
  w.once('error', reject)
}), 10)
const child = await time(() => new Promise((resolve) => {
  const c = fork(file, [], { stdio: 'ignore', execArgv: [] })
  c.once('message', resolve)
}), 10)

report('cold-start', [
  figure({ figure: 'runtime cold start, code cached, spare ready (200 KB)', value: withCache, unit: 'ms', baseline: 'node child process', baseline_value: child, goal: '<= 0.05', met: withCache / child <= 0.05 }),
  figure({ figure: 'runtime cold start, code cached, spare ready, absolute', value: withCache, unit: 'ms', baseline: null, baseline_value: null, goal: '<= 5', met: withCache <= 5 }),
  figure({ figure: 'runtime cold start, code cached, no spare (200 KB)', value: noSpare, unit: 'ms', baseline: 'node child process', baseline_value: child, goal: '<= 0.05', met: noSpare / child <= 0.05 }),
  figure({ figure: 'runtime cold start, code cached, no spare, absolute', value: noSpare, unit: 'ms', baseline: null, baseline_value: null, goal: '<= 5', met: noSpare <= 5 }),
  info({ figure: 'runtime cold start, code cached, spare ready, p99 of 30', value: quantile(withCacheRuns, 0.99), unit: 'ms', baseline: null, baseline_value: null }),
  info({ figure: 'runtime cold start, code cached, no spare, p99 of 30', value: quantile(noSpareRuns, 0.99), unit: 'ms', baseline: null, baseline_value: null }),
  info({ figure: 'runtime cold start, no code cache, no spare', value: noCache, unit: 'ms', baseline: 'code cached, no spare', baseline_value: noSpare }),
  info({ figure: 'node:vm context', value: vmCtx, unit: 'ms', baseline: 'node child process', baseline_value: child }),
  info({ figure: 'worker_threads worker', value: worker, unit: 'ms', baseline: 'node child process', baseline_value: child }),
  info({ figure: 'node child process', value: child, unit: 'ms', baseline: null, baseline_value: null })
])
