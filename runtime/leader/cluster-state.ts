import type { BoardProfile } from '../../boards/schema.js'
import type { BoardState, FunctionStats, OfflineState } from '../protocol/messages.js'
import { INCARNATION_MAX_AHEAD_MS, compareIncarnations, incarnationTime } from '../protocol/incarnation.js'
import type { Clock } from '../shared/clock.js'
import type { BoardView, ClusterView, FnView, PowerState } from './policies/types.js'
import { BOARD_SERVICE_ALPHA, ewma, FN_SERVICE_ALPHA } from './policies/estimates.js'
import { busyPowerW } from '../board-model/power.js'

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
  /** Mean run time (ms) on this board, all functions and per function, from receipts' `run_ms`. */
  meanServiceMs: number
  serviceMsByFn: Map<string, number>
  /**
   * Since when the board holds a run the leader gave up on (no answer by its deadline and the
   * grace after it) and has shown no progress since: not routed to while set (see `overdue`).
   */
  overdueSince: number | null
}

export type StateOutcome = 'joined' | 'updated' | 'stale' | 'offline' | 'unknown-profile' | 'future' | 'full'

/** How many boards the leader tracks at once; gossip from more is ignored until some are pruned. */
export const MAX_BOARDS = 2048
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
  /**
   * The last view, kept incrementally: only boards changed since (`changed`) are rebuilt, and
   * routability, which ages with the clock, is re-checked for all boards only once the
   * earliest routable board's gossip can have gone stale (`validUntil`). Null = build afresh
   * (a board joined). A view handed out is never changed afterwards, except `holders`, whose
   * per-function arrays are replaced (not edited) when a board's warm functions change.
   * `owned[i]` = 1 while board i's view (and its functions record) is in no view handed out
   * (`view` hands out a copy of the array, and with it every board): an in-flight change then
   * patches it in place instead of copying it, once per dispatch and once per answer.
   */
  private cache: { boards: BoardView[], index: Map<string, number>, holders: Record<string, number[]>, validUntil: number, shared: BoardView[] | null, owned: Uint8Array } | null = null
  private readonly changed = new Set<string>()
  /** Boards whose only change since the last view is the in-flight count of these functions. */
  private readonly inflightChanged = new Map<string, Set<string>>()

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
      this.changed.add(cur.id)
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
        idleSince: cur?.idleSince ?? now,
        meanServiceMs: cur?.meanServiceMs ?? 0,
        serviceMsByFn: cur?.serviceMsByFn ?? new Map(),
        // A new boot starts with free slots.
        overdueSince: null
      }
      if (cur === undefined) this.cache = null
      this.boards.set(msg.id, rec)
      this.changed.add(msg.id)
      return 'joined'
    }
    cur.seq = msg.seq
    cur.state = msg
    cur.status = msg.status
    cur.lastSeen = now
    cur.offlineSince = null
    if (cur.overdueSince !== null && slotsFree(msg)) cur.overdueSince = null
    if (cur.power === 'booting') cur.power = 'on'
    this.changed.add(cur.id)
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
      if (b.status !== 'offline' && now - b.lastSeen > this.staleMs) { b.status = 'offline'; b.offlineSince = now; gone.push(b.id); this.changed.add(b.id) }
      // A pruned board leaves the view: the cached index no longer fits, so the view is rebuilt whole.
      if (b.status === 'offline' && b.power === 'on' && b.inflight === 0 && b.offlineSince !== null && now - b.offlineSince > PRUNE_OFFLINE_MS) { this.boards.delete(b.id); this.cache = null }
    }
    return gone
  }

  get size (): number { return this.boards.size }

  isRoutable (b: BoardRecord): boolean {
    return b.status === 'online' && b.power === 'on' && b.overdueSince === null && this.clock.now() - b.lastSeen <= this.staleMs
  }

  /**
   * The leader gave up on a run it sent to board `id`: no answer came by the run's deadline and the
   * grace after it. The board's slot is still taken as far as anyone knows (a runaway its own
   * watchdog did not stop, a wedged agent that still gossips), so no new work goes there until it
   * shows progress: a done (`progress`), a state with nothing running or queued, or a new boot.
   * True when the board was routed to until now.
   */
  overdue (id: string): boolean {
    const b = this.boards.get(id)
    if (b === undefined || b.overdueSince !== null) return false
    const was = this.isRoutable(b)
    b.overdueSince = this.clock.now()
    this.changed.add(id)
    return was
  }

  /** Board `id` answered a run (on time or late): its slots move again. True when that makes it routable again. */
  progress (id: string): boolean {
    const b = this.boards.get(id)
    if (b === undefined || b.overdueSince === null) return false
    b.overdueSince = null
    this.changed.add(id)
    return this.isRoutable(b)
  }

  routable (id: string): boolean {
    const b = this.boards.get(id)
    return b !== undefined && this.isRoutable(b)
  }

  setPower (id: string, power: PowerState): void {
    const b = this.boards.get(id)
    if (b !== undefined) { b.power = power; this.changed.add(id) }
  }

  get (id: string): Readonly<BoardRecord> | undefined { return this.boards.get(id) }

  addInflight (id: string, fn: string, delta: 1 | -1): void {
    const b = this.boards.get(id)
    if (b === undefined) return
    b.inflight = Math.max(0, b.inflight + delta)
    const n = Math.max(0, (b.inflightByFn.get(fn) ?? 0) + delta)
    if (n > 0) b.inflightByFn.set(fn, n); else b.inflightByFn.delete(fn) // a board's view walks this map
    b.idleSince = b.inflight === 0 ? this.clock.now() : null
    const fns = this.inflightChanged.get(id)
    if (fns !== undefined) fns.add(fn); else this.inflightChanged.set(id, new Set([fn]))
  }

  /** A receipt from board `id`: fn ran `runMs` there (the board's and the function's mean service times). */
  complete (id: string, fn: string, runMs: number): void {
    const b = this.boards.get(id)
    if (b === undefined || !(runMs >= 0)) return
    b.meanServiceMs = ewma(b.meanServiceMs, runMs, BOARD_SERVICE_ALPHA)
    b.serviceMsByFn.set(fn, ewma(b.serviceMsByFn.get(fn), runMs, FN_SERVICE_ALPHA))
    const fns = this.inflightChanged.get(id)
    if (fns !== undefined) fns.add(fn); else this.inflightChanged.set(id, new Set([fn]))
  }

  /**
   * The cluster as the policies see it, with the holders index; rebuilt only where it changed.
   * Never changed once handed out: its boards array is a copy, made once per batch of changes.
   */
  view (): ClusterView {
    const now = this.clock.now()
    const c = this.refresh(now)
    if (c.shared === null) { c.shared = c.boards.slice(); c.owned.fill(0) }
    return { now, boards: c.shared, holders: c.holders }
  }

  /**
   * The same view for one synchronous decision (a dispatch: the balancer's pick), without the copy
   * of the boards array that \`view\` makes after every in-flight change (1,000 boards: 8 KB and a
   * pass per dispatch, the GC behind the dispatch tail). Valid only until the next change to this
   * state: the caller must not keep it or hand it on. `fns`, when given, is the view's demand part.
   */
  transientView (fns?: ClusterView['fns']): ClusterView {
    const now = this.clock.now()
    const c = this.refresh(now)
    return fns === undefined ? { now, boards: c.boards, holders: c.holders } : { now, boards: c.boards, holders: c.holders, fns }
  }

  /** Brings the working view up to date in place; \`shared\` (the copy handed out) is dropped when anything changed. */
  private refresh (now: number): NonNullable<ClusterState['cache']> {
    let c = this.cache
    if (c === null) {
      const boards = [...this.boards.values()].sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0).map((b) => this.boardView(b))
      const holders: Record<string, number[]> = {}
      boards.forEach((b, i) => { for (const fn of warm(b)) (holders[fn] ??= []).push(i) })
      c = this.cache = { boards, index: new Map(boards.map((b, i) => [b.id, i])), holders, validUntil: this.validUntil(boards), shared: null, owned: new Uint8Array(boards.length).fill(1) }
      this.changed.clear()
      this.inflightChanged.clear()
      return c
    }
    if (this.changed.size === 0 && this.inflightChanged.size === 0 && now <= c.validUntil) return c
    c.shared = null
    const boards = c.boards
    // A dispatch or a completion changes only in-flight counts: patch those, keep the rest.
    for (const [id, fns] of this.inflightChanged) {
      const i = c.index.get(id)
      const rec = this.boards.get(id)
      const before = i === undefined ? undefined : boards[i]
      if (i === undefined || rec === undefined || before === undefined || this.changed.has(id)) continue
      if (c.owned[i] === 1) patchInflight(before as MutableBoardView, rec, fns)
      else { boards[i] = patchInflight(cloneView(before, copyFunctions(before.functions), before.routable), rec, fns); c.owned[i] = 1 }
    }
    this.inflightChanged.clear()
    let until = c.validUntil
    for (const id of this.changed) {
      const i = c.index.get(id)
      const rec = this.boards.get(id)
      if (i === undefined || rec === undefined) continue
      const before = boards[i]
      const after = this.boardView(rec)
      boards[i] = after
      c.owned[i] = 1
      if (after.routable) until = Math.min(until, after.lastSeenMs + this.staleMs)
      if (before !== undefined) this.reindex(c.holders, i, before, after)
    }
    this.changed.clear()
    if (now > c.validUntil) {
      for (let i = 0; i < boards.length; i++) {
        const b = boards[i]!
        const rec = this.boards.get(b.id)
        const routable = rec !== undefined && this.isRoutable(rec)
        if (routable !== b.routable) boards[i] = cloneView(b, b.functions, routable)
      }
      c.validUntil = this.validUntil(boards)
    } else {
      c.validUntil = until
    }
    return c
  }

  /** The view built from scratch, without the holders index (the reference for `view`). */
  fullView (): ClusterView {
    const boards = [...this.boards.values()].map((b) => this.boardView(b))
    boards.sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    return { now: this.clock.now(), boards }
  }

  /** Until when every routable board in `boards` stays routable without news. */
  private validUntil (boards: readonly BoardView[]): number {
    let t = Infinity
    for (const b of boards) if (b.routable) t = Math.min(t, b.lastSeenMs + this.staleMs)
    return t
  }

  private reindex (holders: Record<string, number[]>, i: number, beforeView: BoardView, afterView: BoardView): void {
    if (sameWarm(beforeView, afterView)) return
    const before = warm(beforeView)
    const after = warm(afterView)
    for (const fn of before) if (!after.includes(fn)) holders[fn] = (holders[fn] ?? []).filter((x) => x !== i)
    for (const fn of after) if (!before.includes(fn)) holders[fn] = [...(holders[fn] ?? []), i].sort((a, b) => a - b)
  }

  private boardView (b: BoardRecord): BoardView {
    // A dictionary from the start (no prototype): a record built key by key from `{}` stays a
    // fast-mode object whose hidden class is one path through a transition tree over every
    // function name, so a pick's `functions[fn]` is a megamorphic load that misses V8's stub cache.
    const functions = Object.create(null) as Record<string, FnView>
    const gossiped = b.state?.functions ?? {}
    let runtimeCount = 0
    let running = 0
    for (const fn in gossiped) { const f = gossiped[fn]!; functions[fn] = fnView(f, b.inflightByFn.get(fn) ?? 0, b.serviceMsByFn.get(fn)); runtimeCount += f.runtimes; running += f.running }
    for (const [fn, n] of b.inflightByFn) {
      if (functions[fn] === undefined && n > 0) functions[fn] = fnView(undefined, n, b.serviceMsByFn.get(fn))
    }
    // One literal with every field always present, the rare ones added after: every board's view
    // has one hidden class with its fields in the object (no spread: a literal with spreads keeps
    // most fields in a separate property array, one more cache line per board a pick reads).
    const v: MutableBoardView = {
      id: b.id,
      profile: b.profile,
      power: b.status === 'offline' && b.power === 'on' ? 'offline' : b.status === 'draining' && b.power === 'on' ? 'draining' : b.power,
      routable: this.isRoutable(b),
      queueLen: Math.max(b.state?.queue_len ?? 0, b.inflight),
      inflight: b.inflight,
      serviceRate: b.state?.service_rate ?? 0,
      functions,
      // A board whose sensor keeps failing (`power_unknown`) gossips its last good reading, which may
      // be long stale: the profile's model at the cores it reports running stands in for it, marked as such.
      powerW: b.status === 'offline' || b.state === null ? 0 : b.state.power_unknown === true ? busyPowerW(b.profile, running) : b.state.power_w,
      lastSeenMs: b.lastSeen,
      idleSinceMs: b.idleSince,
      workMs: b.state?.work_ms,
      workRuns: b.state?.work_runs,
      queuedByClass: b.state?.queued_ms_by_class,
      meanServiceMs: b.meanServiceMs,
      runtimeCount,
      queueLimit: b.state?.queue_limit
    }
    if (b.overdueSince !== null) v.overdueSinceMs = b.overdueSince
    if (b.status !== 'offline' && b.state !== null && b.state.power_unknown === true) v.powerUnknown = true
    return v
  }
}

/** A state that shows every slot free: nothing running, nothing queued. */
const slotsFree = (s: BoardState): boolean => {
  if (s.queue_len > 0) return false
  for (const fn in s.functions) if ((s.functions[fn]?.running ?? 0) > 0 || (s.functions[fn]?.queue_len ?? 0) > 0) return false
  return true
}

/**
 * A function on a board: its gossiped stats, and its mean run time there from receipts (0 = none
 * yet). The queue is the invocations waiting, not running (the gossip's `queue_len`), with the
 * leader's exact in-flight count less the ones running as a floor (runs sent since the gossip).
 */
const fnView = (f: FunctionStats | undefined, inflight: number, serviceMs = 0): FnView => f === undefined
  ? { queueLen: inflight, serviceRate: 0, running: 0, runtimes: 0, serviceMs }
  : { queueLen: Math.max(f.queue_len, inflight - f.running), serviceRate: f.service_rate, running: f.running, runtimes: f.runtimes, serviceMs }

type MutableBoardView = { -readonly [K in keyof BoardView]: BoardView[K] } & { functions: Record<string, FnView> }

/** A board's functions record, copied as `boardView` builds one (property by property, a dictionary with no prototype). */
const copyFunctions = (from: Readonly<Record<string, FnView>>): Record<string, FnView> => {
  const out = Object.create(null) as Record<string, FnView>
  for (const fn in from) out[fn] = from[fn]!
  return out
}

/**
 * A copy of a board's view with `functions` and `routable` replaced, built by the same literal as
 * `boardView` (a spread copy would get a hidden class of its own: two shapes for a pick to read).
 */
const cloneView = (v: BoardView, functions: Record<string, FnView>, routable: boolean): MutableBoardView => {
  const out: MutableBoardView = {
    id: v.id,
    profile: v.profile,
    power: v.power,
    routable,
    queueLen: v.queueLen,
    inflight: v.inflight,
    serviceRate: v.serviceRate,
    functions,
    powerW: v.powerW,
    lastSeenMs: v.lastSeenMs,
    idleSinceMs: v.idleSinceMs,
    workMs: v.workMs,
    workRuns: v.workRuns,
    queuedByClass: v.queuedByClass,
    meanServiceMs: v.meanServiceMs,
    runtimeCount: v.runtimeCount,
    queueLimit: v.queueLimit
  }
  if (v.overdueSinceMs !== undefined) out.overdueSinceMs = v.overdueSinceMs
  if (v.powerUnknown !== undefined) out.powerUnknown = v.powerUnknown
  return out
}

/**
 * Brings a board's view up to date, in place, after its in-flight count of `fns` changed (nothing
 * else did). `v` and its functions record must be in no view handed out.
 */
const patchInflight = (v: MutableBoardView, b: BoardRecord, fns: ReadonlySet<string>): MutableBoardView => {
  const functions = v.functions
  const gossiped = b.state?.functions ?? {}
  for (const fn of fns) {
    const n = b.inflightByFn.get(fn) ?? 0
    const g = gossiped[fn]
    if (g !== undefined || n > 0) functions[fn] = fnView(g, n, b.serviceMsByFn.get(fn))
    else delete functions[fn]
  }
  v.queueLen = Math.max(b.state?.queue_len ?? 0, b.inflight)
  v.inflight = b.inflight
  v.idleSinceMs = b.idleSince
  v.meanServiceMs = b.meanServiceMs
  return v
}

/** Whether two views of a board hold warm runtimes of the same functions (no list built: this runs on every change). */
const sameWarm = (a: BoardView, b: BoardView): boolean => {
  let n = 0
  for (const fn in b.functions) {
    if ((b.functions[fn]?.runtimes ?? 0) <= 0) continue
    if ((a.functions[fn]?.runtimes ?? 0) <= 0) return false
    n++
  }
  for (const fn in a.functions) if ((a.functions[fn]?.runtimes ?? 0) > 0) n--
  return n === 0
}

/** The functions a board holds warm runtimes of, sorted. */
const warm = (b: BoardView): string[] => Object.keys(b.functions).filter((fn) => (b.functions[fn]?.runtimes ?? 0) > 0).sort()
