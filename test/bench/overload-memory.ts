// The overload part of reliability.ts alone, with the gateway's memory broken down: RSS, V8
// heap (total and used), external and array buffers, before, at the peak and after; the V8
// heap spaces at the end; the leader's peak in-flight count; the outcome counts; p50/p99 before and 4-5 s after. Nothing is written
// to bench/results. One run per process (a second run would start from the first one's heap):
//   node --no-node-snapshot --expose-gc --import tsx test/bench/overload-memory.ts [seconds]
// adding the gateway's heap flags (runtime/shared/node-flags.ts) or others to compare configurations. With
// --expose-gc it also reports the live heap after a full GC; WISP_HEAP_SNAPSHOT=dir writes a heap
// snapshot after the overload; WISP_OVERLOAD_RATE=n offers n invokes/s instead of 10x the
// measured capacity, so that configurations compared on a loaded machine get the same load.
import { performance } from 'node:perf_hooks'
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8'
import { join } from 'node:path'
import { testCluster } from '../helpers/cluster.js'
import { runOverload } from './lib/overload-run.js'

const seconds = Number(process.argv[2] ?? 30)
const snapDir = process.env.WISP_HEAP_SNAPSHOT
const r1 = (x: number): number => Math.round(x * 10) / 10
const r1all = (o: object): Record<string, number> => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, r1(v as number)]))

const gc = (globalThis as { gc?: () => void }).gc
const heapFlags = process.execArgv.filter((a) => /^--(max|min)-(semi|old)/.test(a))
{
  const c = await testCluster({ boards: 4, policy: 'wisp-no-gate' })
  try {
    let liveMb = NaN
    let cpu0 = process.cpuUsage()
    let elu0 = performance.eventLoopUtilization()
    let elu = NaN
    let cpuS = NaN
    let newSpaceBeforeMb = NaN
    const newSpaceMb = (): number => (getHeapSpaceStatistics().find((x) => x.space_name === 'new_space')?.space_size ?? NaN) / 2 ** 20
    const r = await runOverload(c, seconds, {
      before: () => { cpu0 = process.cpuUsage(); elu0 = performance.eventLoopUtilization(); newSpaceBeforeMb = newSpaceMb() },
      after: () => {
        const u = process.cpuUsage(cpu0); cpuS = (u.user + u.system) / 1e6
        elu = performance.eventLoopUtilization(elu0).utilization
        if (gc !== undefined) { gc(); liveMb = process.memoryUsage().heapUsed / 2 ** 20 }
        if (snapDir !== undefined) writeHeapSnapshot(join(snapDir, `overload-${process.pid}.heapsnapshot`))
      }
    })
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, r1(s.space_size / 2 ** 20)]))
    const s = r.report.over
    console.log(JSON.stringify({
      heapFlags,
      rssGrowthMb: r1(r.grownMb),
      heapTotalGrowthMb: r1(r.after.heapTotal - r.before.heapTotal),
      heapUsedGrowthMb: r1(r.after.heapUsed - r.before.heapUsed),
      liveHeapAfterGcMb: r1(liveMb), gatewayCpuS: r1(cpuS), gatewayEventLoopBusy: Math.round(elu * 100) / 100, newSpaceBeforeMb: r1(newSpaceBeforeMb),
      before: r1all(r.before), peak: r1all(r.peak), after: r1all(r.after), spacesAfterMb: spaces,
      peakInflight: r.peakInflight, boardGrowthMb: r1(r.boardGrowthMb),
      rate: r1(r.report.rate), p50BeforeMs: r1(r.report.p50Before), p99BeforeMs: r1(r.report.p99Before), p50At5sMs: r1(r.report.p50At5s), p99At5sMs: r1(r.report.p99At5s),
      sent: s.sent, lost: s.lost, codes: s.codes, burstLost: r.report.burst.lost, burstCodes: r.report.burst.codes
    }))
  } finally { await c.close() }
}
