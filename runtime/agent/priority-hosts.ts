import type { Manifest } from '../protocol/messages.js'
import { silentLogger, type Logger } from '../shared/log.js'
import type { ExecOutcome, ExecRequest, Executor, RuntimeStats } from './executor-port.js'

/** Nice steps the low-priority host runs below the agent: a CFS weight about 9x lower (110 vs 1024). */
export const LOW_PRIORITY_NICE = 10

/**
 * Invocations in a row that must find a placed function's measure on the other side of SHORT_MS
 * before it moves: a function whose estimate hovers around the boundary stays where it is
 * rather than paying a cold start (and an eviction) on every crossing.
 */
export const MOVE_AFTER = 4

/** What PriorityHosts needs of each host: an Executor with a process behind it (a RuntimePool). */
export interface HostedExecutor extends Executor {
  readonly hostPid: number | undefined
  start: () => Promise<void>
}

export type HostTier = 'normal' | 'low'

export interface PriorityHostsDeps {
  /** The host every function starts in: short and not yet measured functions, validation. */
  readonly normal: HostedExecutor
  /** The host started LOW_PRIORITY_NICE steps below the agent, for functions measured as long here. */
  readonly low: HostedExecutor
  /** Whether fn is measured as long on this board (the run scheduler's `isLong`, the short lane's definition). */
  readonly isLong: (fn: string) => boolean
  /** The low host's runtime budget (MB): a function that needs more stays in the normal host. */
  readonly lowBudgetMb: number
  readonly log?: Logger
}

/**
 * The board's isolate runtime as two supervised host processes (each a RuntimePool, with its own
 * watchdog, runaway kill, crash restart and heap limits): functions measured as long on this board
 * run in a host with a lower OS priority, the rest in the normal one. Isolates of one process run
 * on threads that compete at equal priority, so a CPU hog's busy threads took the CPU from a light
 * function's thread; with the hog's threads niced, the scheduler gives a short run the CPU at
 * once and the long batch work yields, as batch jobs do on Linux.
 *
 * A function's host is chosen at its first invocation or warm target. It moves only when
 * MOVE_AFTER invocations in a row find it measured on the other side (hysteresis): that
 * invocation starts cold in the other host, the old host is told once to evict it (its runs still
 * running there finish, never cut short, and its runtimes go as soon as they are idle), and its
 * warm target follows it. Each move costs one cold start.
 */
export class PriorityHosts implements Executor {
  private readonly placed = new Map<string, HostTier>()
  /** Invocations in a row that measured a placed function for the other host. */
  private readonly against = new Map<string, number>()
  /** The leader's warm target per function, to carry it to the other host when the function moves. */
  private readonly warm = new Map<string, { manifest: Manifest, code: string, runtimes: number }>()
  private readonly log: Logger

  constructor (private readonly d: PriorityHostsDeps) {
    this.log = d.log ?? silentLogger
  }

  /** Starts both host processes now rather than on first use. */
  async start (): Promise<void> { await Promise.all([this.d.normal.start(), this.d.low.start()]) }

  /** Which host fn runs in now (tests and the board page read it); unplaced functions are the normal host's. */
  tierOf (fn: string): HostTier { return this.placed.get(fn) ?? 'normal' }

  /** The pids of both live hosts (the power meter counts their CPU). */
  get hostPids (): ReadonlyArray<number | undefined> { return [this.d.normal.hostPid, this.d.low.hostPid] }

  get normal (): HostedExecutor { return this.d.normal }
  get low (): HostedExecutor { return this.d.low }

  async invoke (req: ExecRequest): Promise<ExecOutcome> {
    return await this.host(this.place(req.manifest, true)).invoke(req)
  }

  async validate (manifest: Manifest, code: string): Promise<void> { await this.d.normal.validate(manifest, code) }

  async setWarm (manifest: Manifest, code: string, runtimes: number): Promise<void> {
    this.warm.set(manifest.name, { manifest, code, runtimes })
    await this.host(this.place(manifest, false)).setWarm(manifest, code, runtimes)
  }

  evict (fn: string): void {
    this.warm.delete(fn)
    this.placed.delete(fn)
    this.against.delete(fn)
    this.d.normal.evict(fn)
    this.d.low.evict(fn)
  }

  stats (): Readonly<Record<string, RuntimeStats>> {
    const out: Record<string, RuntimeStats> = { ...this.d.normal.stats() }
    for (const [fn, s] of Object.entries(this.d.low.stats())) {
      const n = out[fn]
      out[fn] = n === undefined ? s : { runtimes: n.runtimes + s.runtimes, running: n.running + s.running }
    }
    return out
  }

  memMb (): number { return this.d.normal.memMb() + this.d.low.memMb() }

  async close (): Promise<void> { await Promise.all([this.d.normal.close(), this.d.low.close()]) }

  private host (tier: HostTier): HostedExecutor { return tier === 'low' ? this.d.low : this.d.normal }

  /**
   * The host for fn: where it was placed, or at first use where its measure says. An invocation
   * (vote) that finds it measured for the other host MOVE_AFTER times in a row moves it there.
   */
  private place (m: Manifest, vote: boolean): HostTier {
    const fn = m.name
    const want: HostTier = this.d.isLong(fn) && m.memory_mb <= this.d.lowBudgetMb ? 'low' : 'normal'
    const now = this.placed.get(fn)
    if (now === undefined) { this.placed.set(fn, want); return want }
    if (want === now || !vote) {
      if (vote) this.against.delete(fn)
      return now
    }
    const n = (this.against.get(fn) ?? 0) + 1
    if (n < MOVE_AFTER) { this.against.set(fn, n); return now }
    this.against.delete(fn)
    this.placed.set(fn, want)
    this.log.info('function moves to another isolate host', { fn, to: want })
    this.host(now).evict(fn)
    const w = this.warm.get(fn)
    if (w !== undefined) this.host(want).setWarm(w.manifest, w.code, w.runtimes).catch(() => {})
    return want
  }
}
