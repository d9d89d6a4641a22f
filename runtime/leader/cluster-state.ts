import type { BoardProfile } from '../../boards/schema.js'
import type { BoardState, OfflineState } from '../protocol/messages.js'
import { INCARNATION_MAX_AHEAD_MS, compareIncarnations, incarnationTime } from '../protocol/incarnation.js'
import type { Clock } from '../shared/clock.js'
import type { BoardView, ClusterView, FnView, PowerState } from './policies/types.js'

interface BoardRecord {
  id: string
  profile: BoardProfile
  incarnation: string
  seq: number
  state: BoardState | null
  status: 'online' | 'draining' | 'offline'
  /** Set by the power controller; 'on' unless a gate or a wake is under way. */
  power: PowerState
  lastSeen: number
  /** When the board went offline (null while online); long-offline boards are pruned. */
  offlineSince: number | null
  inflight: number
  /** In-flight count per function, kept by the leader (exact between gossips). */
  inflightByFn: Map<string, number>
  idleSince: number | null
}

export type StateOutcome = 'joined' | 'updated' | 'stale' | 'offline' | 'unknown-profile' | 'future' | 'full'

/** How many boards the leader tracks at once; gossip from more is ignored until some are pruned. */
export const MAX_BOARDS = 256
/** A board offline this long (and not gated by the power controller) is dropped from the view. */
export const PRUNE_OFFLINE_MS = 10 * 60_000

/**
 * The leader's picture of the boards, built from gossip. Messages are ordered by
 * `incarnation` (boot time, then a random part) and then `seq`. A boot time further ahead of
 * the gateway's clock than INCARNATION_MAX_AHEAD_MS is ignored, so no message can outrank
 * every future boot. A live board is replaced only by a newer boot; a board already offline
 * is replaced by any boot (its clock may have gone back). A board whose gossip is older than
 * `staleMs` or whose Last Will arrived is offline and never routed to.
 */
export class ClusterState {
  private readonly boards = new Map<string, BoardRecord>()

  constructor (
    private readonly clock: Clock,
    private readonly profiles: ReadonlyMap<string, BoardProfile>,
    private readonly staleMs: number,
    /** The gateway's wall clock (ms since the epoch), which incarnations are checked against. */
    private readonly wallNow: () => number = Date.now
  ) {}

  onState (msg: BoardState | OfflineState): StateOutcome {
    if (incarnationTime(msg.incarnation) > this.wallNow() + INCARNATION_MAX_AHEAD_MS) return 'future'
    const cur = this.boards.get(msg.id)
    if (cur !== undefined && msg.incarnation !== cur.incarnation) {
      const newer = compareIncarnations(msg.incarnation, cur.incarnation) > 0
      if (!newer && (cur.status !== 'offline' || msg.status === 'offline')) return 'stale'
    }
    if (cur !== undefined && msg.incarnation === cur.incarnation) {
      const seq = 'seq' in msg ? msg.seq : Number.MAX_SAFE_INTEGER
      if (seq < cur.seq && msg.status !== 'offline') return 'stale'
    }
    const now = this.clock.now()
    if (msg.status === 'offline') {
      if (cur === undefined || (cur.status === 'offline' && cur.incarnation === msg.incarnation)) return 'stale'
      cur.status = 'offline'
      cur.incarnation = msg.incarnation
      cur.offlineSince = now
      return 'offline'
    }
    const profile = this.profiles.get(msg.profile)
    if (profile === undefined) return 'unknown-profile'
    if (cur === undefined && this.boards.size >= MAX_BOARDS) return 'full'
    if (cur === undefined || cur.incarnation !== msg.incarnation) {
      const rec: BoardRecord = {
        id: msg.id,
        profile,
        incarnation: msg.incarnation,
        seq: msg.seq,
        state: msg,
        status: msg.status,
        power: 'on',
        lastSeen: now,
        offlineSince: null,
        inflight: cur?.inflight ?? 0,
        inflightByFn: cur?.inflightByFn ?? new Map(),
        idleSince: cur?.idleSince ?? now
      }
      this.boards.set(msg.id, rec)
      return 'joined'
    }
    cur.seq = msg.seq
    cur.state = msg
    cur.status = msg.status
    cur.lastSeen = now
    cur.offlineSince = null
    if (cur.power === 'booting') cur.power = 'on'
    return 'updated'
  }

  /**
   * Marks boards whose gossip went quiet as offline and returns their ids; forgets boards
   * offline for PRUNE_OFFLINE_MS that the power controller is not holding and that run nothing.
   */
  sweep (): string[] {
    const now = this.clock.now()
    const gone: string[] = []
    for (const b of this.boards.values()) {
      if (b.status !== 'offline' && now - b.lastSeen > this.staleMs) { b.status = 'offline'; b.offlineSince = now; gone.push(b.id) }
      if (b.status === 'offline' && b.power === 'on' && b.inflight === 0 && b.offlineSince !== null && now - b.offlineSince > PRUNE_OFFLINE_MS) this.boards.delete(b.id)
    }
    return gone
  }

  get size (): number { return this.boards.size }

  isRoutable (b: BoardRecord): boolean {
    return b.status === 'online' && b.power === 'on' && this.clock.now() - b.lastSeen <= this.staleMs
  }

  routable (id: string): boolean {
    const b = this.boards.get(id)
    return b !== undefined && this.isRoutable(b)
  }

  setPower (id: string, power: PowerState): void {
    const b = this.boards.get(id)
    if (b !== undefined) b.power = power
  }

  get (id: string): Readonly<BoardRecord> | undefined { return this.boards.get(id) }

  addInflight (id: string, fn: string, delta: 1 | -1): void {
    const b = this.boards.get(id)
    if (b === undefined) return
    b.inflight = Math.max(0, b.inflight + delta)
    b.inflightByFn.set(fn, Math.max(0, (b.inflightByFn.get(fn) ?? 0) + delta))
    b.idleSince = b.inflight === 0 ? this.clock.now() : null
  }

  view (): ClusterView {
    const boards: BoardView[] = []
    for (const b of this.boards.values()) {
      const functions: Record<string, FnView> = {}
      const gossiped = b.state?.functions ?? {}
      for (const [fn, f] of Object.entries(gossiped)) {
        functions[fn] = { queueLen: Math.max(f.queue_len + f.running, b.inflightByFn.get(fn) ?? 0), serviceRate: f.service_rate, running: f.running, runtimes: f.runtimes }
      }
      for (const [fn, n] of b.inflightByFn) {
        if (functions[fn] === undefined && n > 0) functions[fn] = { queueLen: n, serviceRate: 0, running: 0, runtimes: 0 }
      }
      boards.push({
        id: b.id,
        profile: b.profile,
        power: b.status === 'offline' && b.power === 'on' ? 'offline' : b.status === 'draining' && b.power === 'on' ? 'draining' : b.power,
        routable: this.isRoutable(b),
        queueLen: Math.max(b.state?.queue_len ?? 0, b.inflight),
        inflight: b.inflight,
        serviceRate: b.state?.service_rate ?? 0,
        functions,
        powerW: b.status === 'offline' ? 0 : b.state?.power_w ?? 0,
        lastSeenMs: b.lastSeen,
        idleSinceMs: b.idleSince,
        workMs: b.state?.work_ms,
        workRuns: b.state?.work_runs,
        queuedByClass: b.state?.queued_ms_by_class
      })
    }
    boards.sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    return { now: this.clock.now(), boards }
  }
}
