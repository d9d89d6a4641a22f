import { randomBytes } from 'node:crypto'
import type { ControlMessage } from '../protocol/messages.js'
import type { Clock } from '../shared/clock.js'
import { WispError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'

/** What a rollout needs to know of a board (from the leader's view of its gossip). */
export interface RolloutBoard {
  readonly status: 'online' | 'draining' | 'offline'
  readonly incarnation: string
  readonly version: string | undefined
  /** Invocations the leader has sent it and waits for. */
  readonly inflight: number
  /** Runs the board says it has queued or running. */
  readonly workRuns: number
  readonly upgradeError: string | undefined
  readonly pong: string | undefined
}

export interface RolloutDeps {
  readonly board: (id: string) => RolloutBoard | undefined
  readonly boardIds: () => readonly string[]
  readonly control: (id: string, msg: Omit<ControlMessage, 'v'>) => Promise<void>
  readonly clock: Clock
  readonly log: Logger
}

export interface RolloutRequest {
  readonly to: string
  readonly package?: string
  /** The boards to upgrade, in this order; all known boards (by id) when absent. */
  readonly boards?: readonly string[]
  /** How long each step (drain, install and restart, health check) may take on one board. */
  readonly timeoutMs: number
}

export type Step = 'drain' | 'install' | 'health'
export type BoardOutcome = 'upgraded' | 'already' | 'skipped' | 'failed' | 'not-started'

export interface BoardResult {
  readonly board: string
  readonly from: string | null
  readonly outcome: BoardOutcome
  readonly step?: Step
  readonly error?: string
  /** After a failure: whether the board came back on its previous version. */
  readonly rolled_back?: boolean
}

export interface RolloutReport { readonly to: string, readonly ok: boolean, readonly boards: readonly BoardResult[] }

/** One line of progress: a board entered a step, or finished. */
export interface Progress { readonly board: string, readonly step: Step | 'done', readonly outcome?: BoardOutcome, readonly error?: string }

/** How often a rollout looks at the leader's view while it waits for a board. */
const POLL_MS = 100

/**
 * A fleet upgrade, one board at a time: drain it (wait for its in-flight runs), tell it to
 * upgrade, wait for it to come back (a new incarnation gossiping the new version, online), ping
 * it; the next board only then. A board that fails a step within the timeout is told to roll
 * back, and the rollout stops there with its report; the boards not reached keep serving.
 */
export class Rollout {
  private running = false
  constructor (private readonly d: RolloutDeps) {}

  async run (r: RolloutRequest, progress: (p: Progress) => void = () => {}): Promise<RolloutReport> {
    if (this.running) throw new WispError('WISP_OVERLOADED', 'a rollout is already running on this gateway')
    const ids = r.boards ?? [...this.d.boardIds()].sort()
    for (const id of ids) if (this.d.board(id) === undefined) throw new WispError('WISP_BAD_CONFIG', `no board "${id}" is known to the gateway`)
    this.running = true
    try {
      const results: BoardResult[] = []
      let stopped = false
      for (const id of ids) {
        const b = this.d.board(id)
        const from = b?.version ?? null
        if (stopped) { results.push({ board: id, from, outcome: 'not-started' }); continue }
        if (b === undefined || b.status === 'offline') { results.push({ board: id, from, outcome: 'skipped', error: 'offline' }); progress({ board: id, step: 'done', outcome: 'skipped', error: 'offline' }); continue }
        if (b.version === r.to) { results.push({ board: id, from, outcome: 'already' }); progress({ board: id, step: 'done', outcome: 'already' }); continue }
        const res = await this.upgradeOne(id, from, r, progress)
        results.push(res)
        progress({ board: id, step: 'done', outcome: res.outcome, ...(res.error === undefined ? {} : { error: res.error }) })
        if (res.outcome === 'failed') stopped = true
      }
      return { to: r.to, ok: !stopped, boards: results }
    } finally { this.running = false }
  }

  private async upgradeOne (id: string, from: string | null, r: RolloutRequest, progress: (p: Progress) => void): Promise<BoardResult> {
    const { log } = this.d
    const failed = async (step: Step, error: string): Promise<BoardResult> => {
      log.error('upgrade of a board failed; rolling it back', { board: id, step, error, to: r.to })
      const rolledBack = await this.rollBack(id, step, r)
      return { board: id, from, outcome: 'failed', step, error, rolled_back: rolledBack }
    }
    progress({ board: id, step: 'drain' })
    await this.d.control(id, { op: 'drain' })
    const drained = await this.until(r.timeoutMs, () => {
      const b = this.d.board(id)
      return b !== undefined && b.status === 'draining' && b.inflight === 0 && b.workRuns === 0
    })
    if (!drained) return await failed('drain', `still busy after ${r.timeoutMs} ms`)
    const before = this.d.board(id)?.incarnation
    progress({ board: id, step: 'install' })
    await this.d.control(id, { op: 'upgrade', version: r.to, ...(r.package === undefined ? {} : { package: r.package }) })
    let installError: string | undefined
    const back = await this.until(r.timeoutMs, () => {
      const b = this.d.board(id)
      if (b === undefined) return false
      if (b.incarnation === before && b.upgradeError !== undefined) { installError = b.upgradeError; return true }
      return b.incarnation !== before && b.status === 'online' && b.version === r.to
    })
    if (installError !== undefined) return await failed('install', installError)
    if (!back) return await failed('install', `did not come back on ${r.to} within ${r.timeoutMs} ms`)
    progress({ board: id, step: 'health' })
    if (!await this.ping(id, r.timeoutMs)) return await failed('health', `did not answer a ping within ${r.timeoutMs} ms`)
    log.info('board upgraded', { board: id, from, to: r.to })
    return { board: id, from, outcome: 'upgraded' }
  }

  /** Tells the board to roll back and waits for it to serve again on a version other than the new one (true), or the timeout. */
  private async rollBack (id: string, step: Step, r: RolloutRequest): Promise<boolean> {
    // A board that failed to drain installed nothing: it only has to serve again.
    await this.d.control(id, { op: step === 'drain' ? 'resume' : 'rollback' }).catch(() => {})
    return await this.until(r.timeoutMs, () => {
      const b = this.d.board(id)
      return b !== undefined && b.status === 'online' && b.upgradeError === undefined && b.version !== r.to
    })
  }

  private async ping (id: string, timeoutMs: number): Promise<boolean> {
    const nonce = randomBytes(8).toString('hex')
    await this.d.control(id, { op: 'ping', nonce })
    return await this.until(timeoutMs, () => {
      const b = this.d.board(id)
      return b !== undefined && b.status === 'online' && b.pong === nonce
    })
  }

  /** Resolves true once `ok()` holds, false after timeoutMs. */
  private async until (timeoutMs: number, ok: () => boolean): Promise<boolean> {
    const { clock } = this.d
    const deadline = clock.now() + timeoutMs
    while (!ok()) {
      if (clock.now() >= deadline) return false
      await new Promise<void>((resolve) => clock.setTimeout(resolve, POLL_MS))
    }
    return true
  }
}
