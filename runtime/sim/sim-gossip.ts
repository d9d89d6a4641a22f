import type { BoardState, FunctionStats, OfflineState } from '../protocol/messages.js'
import type { SimBoard } from './sim-board.js'

/**
 * A simulated board's boot id, in the live format (boot time base 36, then a hex part): the
 * simulator's clock and the board's index and boot count, so runs stay deterministic.
 */
export const simIncarnation = (nowMs: number, board: number, boot: number): string =>
  `${Math.max(0, Math.floor(nowMs)).toString(36).padStart(9, '0')}-${(board * 0x10000 + boot).toString(16).padStart(8, '0')}`

/**
 * What the agent of a simulated board would gossip now (`Agent.state`): the typed message the
 * live leader's state handler hands to `ClusterState.onState`, so the simulator's policies read
 * the view the live leader's builder makes. Per function: queued (not running) invocations,
 * running ones and warm runtimes, for the functions the board has any of.
 */
export const simBoardState = (b: SimBoard, incarnation: string, seq: number, now: number, profile = b.profile.name): BoardState => {
  const functions: Record<string, FunctionStats> = {}
  const fns = b.byFn
  for (let i = 0; i < fns.length; i++) {
    const f = fns[i]!
    if (f.runtimes > 0 || f.queueLen > 0 || f.running > 0) functions[b.fnName(i)] = { queue_len: f.queueLen, service_rate: f.serviceRate, running: f.running, runtimes: f.runtimes }
  }
  return {
    v: 1,
    id: b.id,
    incarnation,
    profile,
    status: b.power === 'draining' ? 'draining' : 'online',
    ts: now,
    seq,
    power_w: b.powerW,
    energy_j: b.energy,
    queue_len: Math.max(0, b.inflight - b.busy),
    service_rate: b.serviceRate,
    functions,
    mem_mb: b.memUsed,
    power_source: 'surrogate',
    work_ms: b.workMs,
    work_runs: b.inflight,
    queued_ms_by_class: Array.from(b.queuedByClass),
    ...(b.queueLimit === undefined ? {} : { queue_limit: b.queueLimit })
  }
}

/** The Last Will of a simulated board whose relay opened. */
export const simOfflineState = (b: SimBoard, incarnation: string, now: number): OfflineState =>
  ({ v: 1, id: b.id, incarnation, status: 'offline', ts: now })
