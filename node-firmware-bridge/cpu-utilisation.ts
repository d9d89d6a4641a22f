import type { Clock } from '../runtime/shared/clock.js'

export type CpuUsage = () => { readonly user: number, readonly system: number }

/**
 * Utilisation of the board's cores by this process since the previous call: CPU time
 * (process.cpuUsage, µs) over wall time × cores, within 0..1. Each caller owns its instance.
 */
export const cpuUtilisation = (clock: Clock, cores: number, usage: CpuUsage = () => process.cpuUsage()): (() => number) => {
  let lastCpu = usage()
  let lastT = clock.now()
  let lastU = 0
  return () => {
    const cpu = usage()
    const t = clock.now()
    const wallUs = (t - lastT) * 1000
    if (wallUs <= 0) return lastU
    const used = (cpu.user - lastCpu.user) + (cpu.system - lastCpu.system)
    lastCpu = cpu
    lastT = t
    lastU = Math.max(0, Math.min(1, used / (wallUs * Math.max(1, cores))))
    return lastU
  }
}
