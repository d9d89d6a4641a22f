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
 * CPU time of the board's whole runtime: this process plus the child process that hosts the
 * isolates (where handlers actually run), so the power meter sees the work. A new host (after a
 * crash) is counted from its first reading on. `scale` stretches CPU time as the emulated board's
 * speed stretches runs (1/speed), so a simulated slow board also draws power for longer.
 */
export const processTreeCpu = (hostPid: () => number | undefined, scale = 1): CpuUsage => {
  let lastPid: number | undefined
  let lastTicks = 0
  let hostUs = 0
  return () => {
    const pid = hostPid()
    if (pid !== undefined) {
      const ticks = processTicks(pid)
      if (ticks !== null) {
        if (pid === lastPid) hostUs += Math.max(0, ticks - lastTicks) * TICK_US
        lastPid = pid
        lastTicks = ticks
      }
    }
    const own = process.cpuUsage()
    return { user: (own.user + hostUs) * scale, system: own.system * scale }
  }
}
