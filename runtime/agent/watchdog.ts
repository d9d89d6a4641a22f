import type { WispError } from '../shared/errors.js'

export type Raced<T> = { done: true, value: T } | { done: false }

/** Waits for work at most budgetMs of wall time (a real timer: the watchdog guards real threads). */
export const raceBudget = async <T>(work: Promise<T>, budgetMs: number): Promise<Raced<T>> => {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<Raced<T>>((resolve) => { timer = setTimeout(() => resolve({ done: false }), Math.max(0, budgetMs)) })
  try {
    return await Promise.race([work.then((value): Raced<T> => ({ done: true, value })), expired])
  } finally {
    clearTimeout(timer)
  }
}

export interface Reapable {
  /** Resolves once the isolate's thread is free to run a trivial task. */
  probe: () => Promise<unknown>
  /** CPU time the isolate has used so far, ns. */
  cpuNs: () => bigint
  kill: (err: WispError) => void
}

/**
 * After an invocation ran out of time: isolated-vm's own `timeout` does not stop code that
 * resumed after awaiting, so the watchdog asks the isolate to run a trivial probe. If the
 * probe has not run after a grace period while the isolate kept burning CPU (or after a few
 * periods in any case), a handler is spinning: the isolate is killed.
 */
/** Probe periods the watchdog waits at most before it disposes a runtime that does not answer. */
export const REAP_ROUNDS = 4

export const reapIfStuck = async (target: Reapable, graceMs: number, err: WispError): Promise<'healthy' | 'killed'> => {
  let answered = false
  target.probe().then(() => { answered = true }, () => { answered = true })
  for (let round = 0; round < REAP_ROUNDS; round++) {
    const cpu0 = target.cpuNs()
    await new Promise((resolve) => setTimeout(resolve, graceMs))
    if (answered) return 'healthy'
    const busyMs = Number(target.cpuNs() - cpu0) / 1e6
    if (busyMs >= graceMs * 0.5) break
  }
  if (answered) return 'healthy'
  target.kill(err)
  return 'killed'
}

/**
 * How long past its budget a runaway may keep its runtime host busy: after this the host's
 * supervisor stops waiting for the host to confirm the runtime stopped, kills the host process
 * (SIGKILL) and promotes the standby host.
 */
export const STOP_BOUND_MS = 250
