import type { Gateway } from '../../runtime/gateway/main.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { LoadClient, quantile } from './load.js'

export const LIGHT = 'export async function handler (e) { let s = 0; for (let i = 0; i < 2000; i++) s += i; return s }'
export const CPU_HOG = 'export async function handler () { const t = Date.now(); let x = 0; while (Date.now() - t < 300) x++; return x }'
export const MEM_HOG = 'export async function handler () { const keep = []; for (;;) keep.push(new Array(1e5).fill(1)) }'

/** p99 of the light function, sent at a steady 20/s. */
export const lightP99 = async (load: LoadClient, n: number): Promise<{ p99: number, errors: number, codes: string[] }> => {
  const ids = new Set<string>()
  for (let i = 0; i < n; i++) { ids.add(load.send('light', {})); await new Promise((resolve) => setTimeout(resolve, 50)) }
  await load.settle(30_000)
  const mine = [...load.outcomes.values()].filter((o) => ids.has(o.id))
  const failed = mine.filter((o) => o.replies[0]?.ok !== true).map((o) => o.replies[0]?.code ?? 'none')
  return { p99: quantile(mine.map((o) => (o.replies[0]?.at ?? Infinity) - o.sentAt), 0.99), errors: failed.length, codes: [...new Set(failed)] }
}

/** Keeps `width` invocations of fn outstanding until stopped (full load). */
export const saturate = (load: LoadClient, fn: string, width: number): (() => void) => {
  let on = true
  const ids = new Set<string>()
  for (let i = 0; i < width; i++) ids.add(load.send(fn, {}))
  const tick = setInterval(() => {
    if (!on) return
    for (const id of ids) if ((load.outcomes.get(id)?.replies.length ?? 0) > 0) { ids.delete(id); ids.add(load.send(fn, {})) }
  }, 20)
  return () => { on = false; clearInterval(tick) }
}

export interface NoisyResult {
  readonly alone: { p99: number, errors: number, codes: string[] }
  readonly withCpu: { p99: number, errors: number, codes: string[] }
  readonly withMem: { p99: number, errors: number, codes: string[] }
  readonly memhogCodes: Readonly<Record<string, number>>
}

/** The light function's p99 alone, beside a CPU hog at full load, and beside a memory hog at full load. */
export const measureNoisy = async (g: Gateway, url: string, runs: number): Promise<NoisyResult> => {
  await publishDeployment(g.transport, g.topics, buildManifest('light', LIGHT, { timeout_ms: 5000 }), LIGHT)
  await publishDeployment(g.transport, g.topics, buildManifest('cpuhog', CPU_HOG, { timeout_ms: 5000 }), CPU_HOG)
  await publishDeployment(g.transport, g.topics, buildManifest('memhog', MEM_HOG, { timeout_ms: 5000, memory_mb: 32 }), MEM_HOG)
  const load = await LoadClient.connect(url, 'noisy')
  try {
    await lightP99(load, 10) // warm
    const alone = await lightP99(load, runs)
    const cores = g.leader.cluster.view().boards.reduce((s, b) => s + b.profile.cores, 0)
    const stopCpu = saturate(load, 'cpuhog', cores * 2)
    const withCpu = await lightP99(load, runs)
    stopCpu()
    await load.settle(30_000)
    const stopMem = saturate(load, 'memhog', cores)
    const withMem = await lightP99(load, runs)
    stopMem()
    await load.settle(30_000)
    return { alone, withCpu, withMem, memhogCodes: load.stats((o) => o.fn === 'memhog').codes }
  } finally { await load.close() }
}
