// Runs the overload client (overload-process.ts) in a process of its own against a cluster whose
// gateway is in this process, answering its asks, and samples this process's memory all along:
// what reliability.ts reports and overload-memory.ts breaks down.
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { TestCluster } from '../../helpers/cluster.js'
import { rssMb } from '../../helpers/load.js'
import type { OverloadAsk, OverloadReport } from './overload-process.js'

const MB = 2 ** 20

/** process.memoryUsage() in MB. */
export interface MemoryMb { readonly rss: number, readonly heapTotal: number, readonly heapUsed: number, readonly external: number, readonly arrayBuffers: number }

export const memoryMb = (): MemoryMb => {
  const m = process.memoryUsage()
  return { rss: m.rss / MB, heapTotal: m.heapTotal / MB, heapUsed: m.heapUsed / MB, external: m.external / MB, arrayBuffers: m.arrayBuffers / MB }
}

export interface OverloadRun {
  readonly report: OverloadReport
  /** The gateway's (this process's) memory just before the overload, at its peak during it (per field), and once its answers are all in. */
  readonly before: MemoryMb, readonly peak: MemoryMb, readonly after: MemoryMb
  /** RSS growth after − before: the figure. */
  readonly grownMb: number
  /** The largest board's RSS growth over the same span. */
  readonly boardGrowthMb: number
  /** Leader's in-flight invocations at its peak during the overload. */
  readonly peakInflight: number
}

const until = async (ok: () => boolean, withinMs: number): Promise<void> => {
  const end = Date.now() + withinMs
  while (!ok() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 50))
}

/** 10x the cluster's capacity for `seconds`, then a burst of 2,000 (overload-process.ts). */
export const runOverload = async (c: TestCluster, seconds: number, on: { before?: () => void, after?: () => void } = {}): Promise<OverloadRun> => {
  const client = fork(fileURLToPath(new URL('./overload-process.ts', import.meta.url)), [c.url, String(seconds)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const leader = c.cluster.gateway.leader
  const boardsMb = async (): Promise<number[]> => await Promise.all(c.cluster.boards.map(async (b) => await rssMb(b.pid as number)))
  let before: MemoryMb | null = null; let after: MemoryMb | null = null
  let peak: Record<keyof MemoryMb, number> = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 }
  let peakInflight = 0
  let boards0: number[] = []; let boardGrowthMb = NaN
  let sampling: ReturnType<typeof setInterval> | null = null
  try {
    const report = await new Promise<OverloadReport>((resolve, reject) => {
      client.on('exit', (code) => { reject(new Error(`the overload client exited (${String(code)}) before reporting`)) })
      client.on('message', (m: OverloadAsk | OverloadReport) => {
        if ('done' in m) { resolve(m); return }
        void (async () => {
          if (m.ask === 'before-overload') {
            before = memoryMb(); boards0 = await boardsMb()
            peak = { ...before }
            on.before?.()
            sampling = setInterval(() => {
              const now = memoryMb()
              for (const k of Object.keys(peak) as Array<keyof MemoryMb>) peak[k] = Math.max(peak[k], now[k])
              peakInflight = Math.max(peakInflight, leader.inflightCount())
            }, 100)
          }
          if (m.ask === 'after-overload') {
            if (sampling !== null) clearInterval(sampling)
            after = memoryMb()
            boardGrowthMb = Math.max(...(await boardsMb()).map((x, i) => x - (boards0[i] ?? 0)))
            on.after?.()
          }
          if (m.ask === 'before-burst') await until(() => leader.inflightCount() === 0, 30_000)
          client.send({ ok: m.ask })
        })()
      })
    })
    if (before === null || after === null) throw new Error('the overload client reported without asking for readings')
    const b: MemoryMb = before; const a: MemoryMb = after
    return { report, before: b, peak, after: a, grownMb: a.rss - b.rss, boardGrowthMb, peakInflight }
  } finally {
    if (sampling !== null) clearInterval(sampling)
    client.kill()
  }
}
