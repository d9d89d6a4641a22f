import { fork } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import vm from 'node:vm'
import { Worker } from 'node:worker_threads'
import { MemoryCodeCache } from '../../runtime/agent/code-cache.js'
import { IsolatePool } from '../../runtime/agent/isolate-pool.js'
import { toScript } from '../../runtime/agent/module-compiler.js'
import { figure, median, report } from './lib/figures.js'
import { bigModule, manifestOf, req } from './lib/functions.js'

// Cold start: a new runtime (isolate + compile + top level) for a 200 KB function, to its first reply.
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
const pool = async (cache: MemoryCodeCache): Promise<void> => {
  const p = new IsolatePool({ budgetMb: 256, cache })
  const o = await p.invoke(req(m, code))
  if (!o.ok) throw o.error
  await p.close()
}

const warmCache = new MemoryCodeCache()
await pool(warmCache)
await pool(new MemoryCodeCache()) // warms esbuild and the sandbox bundle
const withCache = await time(() => pool(warmCache), 20)
const noCache = await time(() => pool(new MemoryCodeCache()), 10)
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
  figure({ figure: 'runtime cold start, code cached (200 KB)', value: withCache, unit: 'ms', baseline: 'node child process', baseline_value: child, goal: '<= 0.05', met: withCache / child <= 0.05 }),
  figure({ figure: 'runtime cold start, code cached, absolute', value: withCache, unit: 'ms', baseline: null, baseline_value: null, goal: '<= 5', met: withCache <= 5 }),
  figure({ figure: 'runtime cold start, no code cache', value: noCache, unit: 'ms', baseline: 'code cached', baseline_value: withCache, goal: 'informational', met: true }),
  figure({ figure: 'node:vm context', value: vmCtx, unit: 'ms', baseline: 'node child process', baseline_value: child, goal: 'informational', met: true }),
  figure({ figure: 'worker_threads worker', value: worker, unit: 'ms', baseline: 'node child process', baseline_value: child, goal: 'informational', met: true }),
  figure({ figure: 'node child process', value: child, unit: 'ms', baseline: null, baseline_value: null, goal: 'informational', met: true })
])
