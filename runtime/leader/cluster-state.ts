import type { BoardProfile } from '../../boards/schema.js'
import type { BoardState, OfflineState } from '../protocol/messages.js'
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
  inflight: number
  /** In-flight count per function, kept by the leader (exact between gossips). */
  inflightByFn: Map<string, number>
  idleSince: number | null
}

export type StateOutcome = 'joined' | 'updated' | 'stale' | 'offline' | 'unknown-profile'

/**
 * The leader's picture of the boards, built from gossip. Messages are ordered by
 * `incarnation` (a fixed-width boot id, newer sorts later) and then `seq`; a board whose
 * gossip is older than `staleMs` or whose Last Will arrived is offline and never routed to.
 */
export class ClusterState {
  private readonly boards = new Map<string, BoardRecord>()

  constructor (
    private readonly clock: Clock,
    private readonly profiles: ReadonlyMap<string, BoardProfile>,
    private readonly staleMs: number
  ) {}

  onState (msg: BoardState | OfflineState): StateOutcome {
    const cur = this.boards.get(msg.id)
    if (cur !== undefined) {
      if (msg.incarnation < cur.incarnation) return 'stale'
      const seq = 'seq' in msg ? msg.seq : Number.MAX_SAFE_INTEGER
      if (msg.incarnation === cur.incarnation && seq < cur.seq && msg.status !== 'offline') return 'stale'
    }
    if (msg.status === 'offline') {
      if (cur === undefined || (cur.status === 'offline' && cur.incarnation === msg.incarnation)) return 'stale'
      cur.status = 'offline'
      cur.incarnation = msg.incarnation
      return 'offline'
    }
    const profile = this.profiles.get(msg.profile)
    if (profile === undefined) return 'unknown-profile'
    const now = this.clock.now()
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
    if (cur.power === 'booting') cur.power = 'on'
    return 'updated'
  }

  /** Marks boards whose gossip went quiet as offline; returns their ids. */
  sweep (): string[] {
    const now = this.clock.now()
    const gone: string[] = []
    for (const b of this.boards.values()) {
      if (b.status !== 'offline' && now - b.lastSeen > this.staleMs) { b.status = 'offline'; gone.push(b.id) }
    }
    return gone
  }

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
