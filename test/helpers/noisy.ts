import type { Gateway } from '../../runtime/gateway/main.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { LoadClient, quantile } from './load.js'

export const LIGHT = 'export async function handler (e) { let s = 0; for (let i = 0; i < 2000; i++) s += i; return s }'
export const CPU_HOG = 'export async function handler () { const t = Date.now(); let x = 0; while (Date.now() - t < 300) x++; return x }'
/** Holds a run slot for 300 ms without using the CPU: what the board's run queue alone does to a neighbour. */
export const SLOT_HOG = 'export async function handler () { await new Promise((resolve) => setTimeout(resolve, 300)); return 1 }'
export const MEM_HOG = 'export async function handler () { const keep = []; for (;;) keep.push(new Array(1e5).fill(1)) }'

/**
 * The light function's latency in one phase: end to end; at the gateway (from the leader taking the
 * invoke to its reply, the receipt's total_ms: the leader's hold, the way to and from the board and
 * the board's time); outside it (end to end minus that: client to broker to leader, and the reply
 * back); and the board's queue and run time from its receipts.
 */
export interface LightPhase {
  readonly p50: number, readonly p99: number, readonly errors: number, readonly codes: string[]
  readonly gatewayP50: number, readonly gatewayP99: number, readonly outsideP50: number, readonly outsideP99: number
  readonly queueP50: number, readonly queueP99: number, readonly runP50: number, readonly runP99: number
}

/** Latency of the light function, sent at a steady 20/s. */
export const lightP99 = async (load: LoadClient, n: number): Promise<LightPhase> => {
  const ids = new Set<string>()
  for (let i = 0; i < n; i++) { ids.add(load.send('light', {})); await new Promise((resolve) => setTimeout(resolve, 50)) }
  await load.settle(30_000)
  const mine = [...load.outcomes.values()].filter((o) => ids.has(o.id))
  const failed = mine.filter((o) => o.replies[0]?.ok !== true).map((o) => o.replies[0]?.code ?? 'none')
  const e2e = mine.map((o) => (o.replies[0]?.at ?? Infinity) - o.sentAt)
  const answered = mine.filter((o) => o.replies[0]?.totalMs !== undefined)
  const gw = answered.map((o) => o.replies[0]?.totalMs as number)
  const outside = answered.map((o) => (o.replies[0]?.at as number) - o.sentAt - (o.replies[0]?.totalMs as number))
  const q = mine.map((o) => o.replies[0]?.queueMs ?? NaN).filter((x) => !Number.isNaN(x))
  const r = mine.map((o) => o.replies[0]?.runMs ?? NaN).filter((x) => !Number.isNaN(x))
  return {
    p50: quantile(e2e, 0.5), p99: quantile(e2e, 0.99), errors: failed.length, codes: [...new Set(failed)],
    gatewayP50: quantile(gw, 0.5), gatewayP99: quantile(gw, 0.99), outsideP50: quantile(outside, 0.5), outsideP99: quantile(outside, 0.99),
    queueP50: quantile(q, 0.5), queueP99: quantile(q, 0.99), runP50: quantile(r, 0.5), runP99: quantile(r, 0.99)
  }
}

/**
 * Keeps `width` invocations of fn outstanding until stopped (full load). Resolves once `width` of
 * them have been answered (or after 15 s), so a hog's first runs on each board, before the board
 * has measured it (and may give it the short lane once), are over: what follows is steady state.
 */
export const saturate = async (load: LoadClient, fn: string, width: number): Promise<() => void> => {
  const before = load.stats((o) => o.fn === fn).answered
  let on = true
  const ids = new Set<string>()
  for (let i = 0; i < width; i++) ids.add(load.send(fn, {}))
  const tick = setInterval(() => {
    if (!on) return
    for (const id of ids) if ((load.outcomes.get(id)?.replies.length ?? 0) > 0) { ids.delete(id); ids.add(load.send(fn, {})) }
  }, 20)
  const end = Date.now() + 15_000
  while (load.stats((o) => o.fn === fn).answered - before < width && Date.now() < end) await load.settle(100)
  return () => { on = false; clearInterval(tick) }
}

export interface NoisyResult {
  readonly alone: LightPhase
  /** Beside a function that holds every run slot (and more queued) but sleeps: queueing alone, no CPU contention. */
  readonly withSlots: LightPhase
  readonly withCpu: LightPhase
  readonly withMem: LightPhase
  readonly memhogCodes: Readonly<Record<string, number>>
}

/**
 * The light function's latency alone, beside a slot hog (every run slot held, no CPU used), beside
 * a CPU hog at full load, and beside a memory hog at full load.
 */
export const measureNoisy = async (g: Gateway, url: string, runs: number): Promise<NoisyResult> => {
  await publishDeployment(g.transport, g.topics, buildManifest('light', LIGHT, { timeout_ms: 5000 }), LIGHT)
  await publishDeployment(g.transport, g.topics, buildManifest('slothog', SLOT_HOG, { timeout_ms: 5000 }), SLOT_HOG)
  await publishDeployment(g.transport, g.topics, buildManifest('cpuhog', CPU_HOG, { timeout_ms: 5000 }), CPU_HOG)
  await publishDeployment(g.transport, g.topics, buildManifest('memhog', MEM_HOG, { timeout_ms: 5000, memory_mb: 32 }), MEM_HOG)
  const load = await LoadClient.connect(url, 'noisy')
  try {
    await lightP99(load, 10) // warm
    const alone = await lightP99(load, runs)
    const cores = g.leader.cluster.view().boards.reduce((s, b) => s + b.profile.cores, 0)
    const stopSlots = await saturate(load, 'slothog', cores * 2)
    const withSlots = await lightP99(load, runs)
    stopSlots()
    await load.settle(30_000)
    const stopCpu = await saturate(load, 'cpuhog', cores * 2)
    const withCpu = await lightP99(load, runs)
    stopCpu()
    await load.settle(30_000)
    const stopMem = await saturate(load, 'memhog', cores)
    const withMem = await lightP99(load, runs)
    stopMem()
    await load.settle(30_000)
    return { alone, withSlots, withCpu, withMem, memhogCodes: load.stats((o) => o.fn === 'memhog').codes }
  } finally { await load.close() }
}
