import { readFileSync } from 'node:fs'
import type { CpuUsage } from '../../node-firmware-bridge/cpu-utilisation.js'

/** proc(5): utime and stime, fields 14 and 15 of /proc/<pid>/stat, in clock ticks (USER_HZ = 100 on Linux). */
const TICK_US = 10_000
export const processTicks = (pid: number): number | null => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // f[0] is field 3 (state)
    return Number(f[11]) + Number(f[12])
  } catch {
    return null // not Linux, or the process is gone
  }
}

/**
 * CPU time of the board's whole runtime: this process plus the child processes that host the
 * isolates (where handlers actually run; a board may have a low-priority host beside the normal
 * one), so the power meter sees the work. A new host (after a crash) is counted from its first
 * reading on. `scale` stretches CPU time as the emulated board's speed stretches runs (1/speed),
 * so a simulated slow board also draws power for longer.
 */
export const processTreeCpu = (hostPids: () => ReadonlyArray<number | undefined>, scale = 1): CpuUsage => {
  let last = new Map<number, number>()
  let hostUs = 0
  return () => {
    const seen = new Map<number, number>()
    for (const pid of hostPids()) {
      if (pid === undefined) continue
      const ticks = processTicks(pid)
      const before = last.get(pid)
      if (ticks === null) { if (before !== undefined) seen.set(pid, before); continue }
      if (before !== undefined) hostUs += Math.max(0, ticks - before) * TICK_US
      seen.set(pid, ticks)
    }
    last = seen
    const own = process.cpuUsage()
    return { user: (own.user + hostUs) * scale, system: own.system * scale }
  }
}
