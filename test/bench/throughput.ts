import { fork } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { IsolatePool } from '../../runtime/agent/isolate-pool.js'
import { figure, info, report } from './lib/figures.js'
import { manifestOf, req } from './lib/functions.js'

// Invocations per second of a trivial handler, 32 in flight.
const code = 'export async function handler (event) { return event }\n'
const rate = async (n: number, inflight: number, one: (i: number) => Promise<unknown>): Promise<number> => {
  let next = 0
  const t0 = performance.now()
  await Promise.all(Array.from({ length: inflight }, async () => { while (next < n) await one(next++) }))
  return n / ((performance.now() - t0) / 1000)
}
const pool = new IsolatePool({ budgetMb: 4096, maxRuntimesPerFunction: 1 })
const shared = manifestOf('tp-shared', code)
const context = manifestOf('tp-context', code, { isolation: 'context' })
await rate(200, 32, (i) => pool.invoke(req(shared, code, i)))
const sharedRate = await rate(5000, 32, (i) => pool.invoke(req(shared, code, i)))
await rate(200, 32, (i) => pool.invoke(req(context, code, i)))
const contextRate = await rate(3000, 32, (i) => pool.invoke(req(context, code, i)))
// A new runtime per invocation; the pool's spare (a blank isolate, made while the previous
// invocation ran) makes this baseline faster, so the ratios above are conservative.
const perIsolate = manifestOf('tp-iso', code, { concurrency: 1 })
const perIsolateRate = async (spares: number): Promise<number> => {
  const isoPool = new IsolatePool({ budgetMb: 4096, maxRuntimesPerFunction: 1, spares, spareMemoryMb: perIsolate.memory_mb })
  await isoPool.sparesReady()
  const r = await rate(300, 1, async (i) => { await isoPool.invoke(req(perIsolate, code, i)); isoPool.evict('tp-iso') })
  await isoPool.close()
  return r
}
const isoRate = await perIsolateRate(1)
const isoNoSpareRate = await perIsolateRate(0)
const file = join(mkdtempSync(join(tmpdir(), 'wisp-tp-')), 'fn.mjs')
writeFileSync(file, code + 'process.once("message", async (e) => { process.send(await handler(e)); process.exit(0) })\n')
const childRate = await rate(40, 4, () => new Promise((resolve) => {
  const c = fork(file, [], { stdio: 'ignore', execArgv: [] })
  c.once('message', resolve)
  c.send({ x: 1 })
}))
await pool.close()
report('throughput', [
  figure({ figure: 'co-execution, shared mode', value: sharedRate, unit: 'inv/s', baseline: 'isolate per invocation', baseline_value: isoRate, goal: '>= 10', met: sharedRate / isoRate >= 10 }),
  figure({ figure: 'co-execution, context mode', value: contextRate, unit: 'inv/s', baseline: 'isolate per invocation', baseline_value: isoRate, goal: '>= 2', met: contextRate / isoRate >= 2 }),
  figure({ figure: 'isolate per invocation', value: isoRate, unit: 'inv/s', baseline: 'child process per invocation', baseline_value: childRate, goal: '>= 1', met: isoRate >= childRate }),
  info({ figure: 'isolate per invocation, no spare', value: isoNoSpareRate, unit: 'inv/s', baseline: 'isolate per invocation', baseline_value: isoRate }),
  figure({ figure: 'co-execution, shared mode vs child process', value: sharedRate, unit: 'inv/s', baseline: 'child process per invocation', baseline_value: childRate, goal: '>= 100', met: sharedRate / childRate >= 100 })
])
