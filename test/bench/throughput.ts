import { fork } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { IsolatePool } from '../../runtime/agent/isolate-pool.js'
import { figure, info, report } from './lib/figures.js'
import { manifestOf, req } from './lib/functions.js'

// Invocations per second of a trivial handler with INFLIGHT invocations in flight, for wisp
// and for every baseline alike (same concurrency, same handler, same event), each baseline at
// the best of the settings tried for it:
// - isolate per invocation: a new isolated-vm runtime for each invocation (its own function
//   name, evicted after its reply), with 0, 1 or 8 blank spare isolates made in the background;
// - child process per invocation: `fork` of a plain .mjs holding the handler (no loader, no
//   execArgv, stdio ignored, IPC for the event and the reply), as a process-per-request
//   runtime such as CGI-style or OpenWhisk-style cold containers without the container.
const INFLIGHT = Number(process.env.WISP_BENCH_INFLIGHT ?? 32)
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
const failed = { shared: 0, context: 0 }
const invoke = (m: typeof shared, k: keyof typeof failed) => async (i: number): Promise<void> => { if (!(await pool.invoke(req(m, code, i))).ok) failed[k]++ }
await rate(200, INFLIGHT, invoke(shared, 'shared'))
failed.shared = 0
const sharedRate = await rate(5000, INFLIGHT, invoke(shared, 'shared'))
await rate(200, INFLIGHT, invoke(context, 'context'))
failed.context = 0
const contextRate = await rate(3000, INFLIGHT, invoke(context, 'context'))
await pool.close()

/** A new runtime per invocation, INFLIGHT at once, with `spares` blank isolates kept ready. */
const perIsolateRate = async (spares: number): Promise<number> => {
  const isoPool = new IsolatePool({ budgetMb: 65536, maxRuntimesPerFunction: 1, spares, spareMemoryMb: 64 })
  await isoPool.sparesReady()
  const one = async (i: number): Promise<void> => {
    const m = manifestOf(`tp-iso-${i}`, code, { concurrency: 1 })
    const o = await isoPool.invoke(req(m, code, i))
    if (!o.ok) throw o.error
    isoPool.evict(m.name)
  }
  await rate(INFLIGHT, INFLIGHT, one)
  const r = await rate(400, INFLIGHT, one)
  await isoPool.close()
  return r
}
const isoBySpares = new Map<number, number>()
for (const s of [0, 1, 8]) isoBySpares.set(s, await perIsolateRate(s))
const [isoSpares, isoRate] = [...isoBySpares].reduce((a, b) => (b[1] > a[1] ? b : a))

const file = join(mkdtempSync(join(tmpdir(), 'wisp-tp-')), 'fn.mjs')
writeFileSync(file, code + 'process.once("message", async (e) => { process.send(await handler(e)); process.exit(0) })\n')
const oneChild = (i: number): Promise<unknown> => new Promise((resolve, reject) => {
  const c = fork(file, [], { stdio: 'ignore', execArgv: [] })
  c.once('message', resolve)
  c.once('error', reject)
  c.send({ x: i })
})
await rate(INFLIGHT, INFLIGHT, oneChild)
const childRate = await rate(INFLIGHT * 4, INFLIGHT, oneChild)

const ISO = `isolate per invocation, ${INFLIGHT} in flight (best of 0/1/8 spares: ${isoSpares})`
const CHILD = `child process per invocation, ${INFLIGHT} in flight`
report('throughput', [
  figure({ figure: `co-execution, shared mode, ${INFLIGHT} in flight`, value: sharedRate, unit: 'inv/s', baseline: ISO, baseline_value: isoRate, goal: '>= 10', met: sharedRate / isoRate >= 10, failures: failed.shared }),
  figure({ figure: `co-execution, context mode, ${INFLIGHT} in flight`, value: contextRate, unit: 'inv/s', baseline: ISO, baseline_value: isoRate, goal: '>= 2', met: contextRate / isoRate >= 2, failures: failed.context }),
  figure({ figure: ISO, value: isoRate, unit: 'inv/s', baseline: CHILD, baseline_value: childRate, goal: '>= 1', met: isoRate >= childRate }),
  ...[...isoBySpares].map(([s, r]) => info({ figure: `isolate per invocation, ${INFLIGHT} in flight, ${s} spares`, value: r, unit: 'inv/s', baseline: ISO, baseline_value: isoRate })),
  figure({ figure: `co-execution, shared mode vs child process, ${INFLIGHT} in flight`, value: sharedRate, unit: 'inv/s', baseline: CHILD, baseline_value: childRate, goal: '>= 100', met: sharedRate / childRate >= 100 })
], { inflight: INFLIGHT })
