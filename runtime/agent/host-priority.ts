import { readFileSync, readdirSync } from 'node:fs'
import { getPriority, setPriority } from 'node:os'
import type { Logger } from '../shared/log.js'

/** The highest (least favoured) nice value on Linux and the BSDs. */
const NICE_MAX = 19

/** proc(5): the nice value, field 19 of /proc/<pid>/stat (of one thread with /proc/<pid>/task/<tid>/stat); null if unreadable. */
export const niceOf = (pid: number, tid?: number): number | null => {
  try {
    const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // f[0] is field 3 (state)
    const nice = Number(f[16])
    return Number.isInteger(nice) ? nice : null
  } catch {
    return null // not Linux, or the process is gone
  }
}

/** The thread ids of a process (Linux); just the pid elsewhere. */
export const threadsOf = (pid: number): number[] => {
  try { return readdirSync(`/proc/${pid}/task`).map(Number).filter((t) => Number.isInteger(t)) } catch { return [pid] }
}

/** The nice value `by` steps less favoured than this process (the agent), at most NICE_MAX. */
export const lowerNice = (by: number): number => Math.min(NICE_MAX, getPriority() + by)

/**
 * Gives every thread of process pid the nice value `nice`. On Linux the nice value is a thread's
 * (setpriority(2) on a pid reaches its main thread only) and a new thread inherits its creator's:
 * called once right after the fork (the main thread, which makes the isolate threads) and again
 * when the process is up (the threads Node started before that). Raising one's own processes'
 * nice needs no privilege; a failure is logged, and the host runs at the agent's priority.
 */
export const renice = (pid: number, nice: number, log: Logger): void => {
  for (const tid of threadsOf(pid)) {
    try { setPriority(tid, nice) } catch (err) {
      // A thread that ended meanwhile is no failure.
      if ((err as { info?: { code?: string } }).info?.code !== 'ESRCH') log.warn('could not lower the isolate host\'s priority', { pid, tid, error: (err as Error).message })
    }
  }
}
