import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

// Linux process facts from /proc (proc(5)) and pgrep, for the tests and benchmarks that look at
// the processes wisp starts. A process that is gone reads as empty or 0, never as an error.

/** The direct children of a process. */
export const childrenOf = (pid: number): number[] =>
  spawnSync('pgrep', ['-P', String(pid)]).stdout.toString().trim().split('\n').filter(Boolean).map(Number)

/** A process and all its descendants, parents first. */
export const tree = (pid: number): number[] => [pid, ...childrenOf(pid).flatMap(tree)]

/** Its command line, arguments joined by spaces ('' if gone). */
export const cmdline = (pid: number): string => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ') } catch { return '' } }

/** One variable of its environment, as it was started. */
export const envOf = (pid: number, name: string): string | undefined => {
  try {
    for (const kv of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) if (kv.startsWith(`${name}=`)) return kv.slice(name.length + 1)
  } catch { /* gone */ }
  return undefined
}

const TICK_MS = 1000 / (Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim()) || 100)

/** Its CPU time so far, utime + stime (fields 14 and 15 of /proc/<pid>/stat), ms; 0 if gone. */
export const cpuMs = (pid: number): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // f[0] is field 3 (state)
    return (Number(f[11]) + Number(f[12])) * TICK_MS
  } catch { return 0 }
}

/** Its resident memory (VmRSS of /proc/<pid>/status), MB; 0 if gone. */
export const rssMb = (pid: number): number => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? 0 : Number(m[1]) / 1024
  } catch { return 0 }
}

/** Its read and write system calls so far (syscr + syscw of /proc/<pid>/io, all threads); 0 if gone. */
export const ioCalls = (pid: number): number => {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8')
    return Number(/syscr:\s*(\d+)/.exec(io)?.[1] ?? 0) + Number(/syscw:\s*(\d+)/.exec(io)?.[1] ?? 0)
  } catch { return 0 }
}
