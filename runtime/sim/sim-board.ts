import type { BoardProfile } from '../../boards/schema.js'
import type { PowerState, QueueDiscipline } from '../leader/policies/types.js'
import type { Inv } from './heap.js'
import { BOARD_SERVICE_ALPHA, ewma, FN_SERVICE_ALPHA } from '../leader/policies/estimates.js'
import { learnInvMs } from '../board-model/estimate.js'
import { busyRuntimes, lruIdleVictim } from '../board-model/eviction.js'
import { busyPowerW } from '../board-model/power.js'
import { RunQueue, type DrainHooks } from '../board-model/run-queue.js'
import { addQueuedWork, WORK_CLASSES } from '../board-model/work.js'
import { isShortRun, SHORT_LANE } from '../board-model/short-lane.js'

/** A function's state on one simulated board, as the agent would gossip it (`sim-gossip.ts`). */
export class SimFn {
  queueLen = 0
  /** Completions per busy second of one runtime (1000 / serviceMs). */
  serviceRate = 0
  serviceMs = 0
  /** Moving average of 1 / run time (the harmonic mean's reciprocal). */
  invMs = 0
  running = 0
  runtimes = 0
  lastUsed = 0
}

export interface BoardHooks {
  now: () => number
  /** Asks for `board.tick(gen)` at time `at` (the board's next completion, unless rescheduled since). */
  wakeAt: (board: SimBoard, at: number, gen: number) => void
  /** An invocation finished after `ms` of (shared) service. */
  finished: (board: SimBoard, inv: Inv, ms: number) => void
  coldMs: (fn: number) => number
  slots: (fn: number) => number
  memoryMb: (fn: number) => number
  fnName: (fn: number) => string
  /** The function's mean service time at reference speed as the board knows it (ms; 0 = unknown). */
  refMs?: (fn: number) => number
  /** The agent's per-function queue bound (gossiped as `queue_limit`). */
  queueLimit?: () => number
  /**
   * The share of a run's time its handler keeps a core busy (default 1: CPU-bound). A handler
   * that waits (a timer, I/O) holds its runtime and run slot but draws no core; a cold start
   * (runtime creation and compile) always does.
   */
  cpuShare?: () => number
  /** The runtime's own CPU (agent and isolate host) at reference speed: ms of a core per run, and cores kept busy while up. Default none. */
  runtimeCpu?: () => RuntimeCpu
}

/** What the board's runtime itself keeps a core busy with, at reference speed (a board of speed s takes 1/s as long). */
export interface RuntimeCpu {
  /** Per run: receiving it, handing it to the isolate host, the reply (ms of one core). */
  readonly perRunMs: number
  /** While the agent runs, even idle: gossip, timers, the broker connection (cores). */
  readonly idleCores: number
  /**
   * Per runtime started, by a warm target or a cold start: its isolate, context and module, and
   * its disposal later (ms of one core). Absent = none beyond a cold start's own time.
   */
  readonly perRuntimeMs?: number
}

/**
 * A board: `cores` cores at `speed`, up to `slots` runs at once (beyond the cores they share them
 * equally: processor sharing on a virtual clock). Its queue is one FIFO across functions (`fifo`),
 * or one queue per function served highest response ratio first against the function's
 * harmonic-mean run time (`ratio`, what the wisp agent's run scheduler does; a head that cannot
 * get a runtime is skipped); an invocation needs a slot
 * and a free slot of a warm runtime of its function (a runtime co-executes up to `concurrency`),
 * else a cold start (at most `cores` runtimes per function, LRU eviction of idle runtimes to fit
 * the memory budget). Power: idle + (peak − idle) · busy cores / cores while on (a run keeps
 * `cpuShare` of a core busy, its cold start a whole one, plus the runtime's own CPU); idle while
 * shutting down; `bootW` while booting; 0 when gated. The run queue, estimates, queued-work
 * classes, eviction choice and power line are the board model's (runtime/board-model), the ones
 * the live agent runs; this drives them with the simulator's events.
 */
export class SimBoard {
  power: PowerState = 'on'
  inflight = 0
  serviceRate = 0
  meanServiceMs = 0
  /** Expected work queued or running (ms at this board's speed). */
  workMs = 0
  readonly queuedByClass = new Float64Array(WORK_CLASSES)
  readonly functions: Record<string, SimFn> = {}
  readonly byFn: SimFn[] = []
  busy = 0
  /** Cores the running invocations keep busy (Σ of their `cpu`): what the power line is read at. */
  cpuBusy = 0
  /** Time and energy with the board's agent running (on or draining): what a meter inside the board sees. */
  upMs = 0
  upEnergy = 0
  /** Something gossiped changed since the board's last gossip (the simulator sends it before the next decision). */
  dirty = true
  memUsed = 0
  runtimeCount = 0
  energy = 0
  /** Energy while on (or draining) and running nothing. */
  idleEnergy = 0
  bootEnergy = 0
  /** Energy while shutting down before the relay opens: with boot energy, the cost of gating. */
  shutdownEnergy = 0
  poweredMs = 0
  /** Powered time with nothing running. */
  idleMs = 0
  boots = 0
  coldStarts = 0
  private lastT = 0
  /** FIFO: one queue across functions. */
  private readonly queue: Inv[] = []
  private head = 0
  /** Invocations running (each progresses at `rate()`), the virtual time, and the current wake-up's generation. */
  private readonly running: Inv[] = []
  private vt = 0
  private lastVt = 0
  private gen = 0
  /** In `tick`: the starts its completion triggers leave the rescheduling to it. */
  private ticking = false
  /** Response ratio: the board model's run queue, a FIFO per function. */
  private readonly fq = new RunQueue<number, Inv>({ since: (inv) => inv.arrival, harmonicMs: (inv) => inv.hm ?? inv.est })
  /** What a pass of the run queue asks of this board (made once: dispatch runs on every event). */
  private readonly drainHooks: DrainHooks<number, Inv> = {
    room: () => this.busy - this.inLane < this.slots,
    canStart: (fn) => this.canStart(fn),
    start: (inv) => this.start(inv)
  }

  /** Runs started in the short lane (board-model/short-lane.ts; the agent's rule), counted in `busy` too. */
  private inLane = 0
  /** Extra places of the short lane: the agent's, for the `ratio` discipline the agent runs. */
  private readonly shortLane: number
  private readonly laneHooks: DrainHooks<number, Inv> = {
    room: () => this.inLane < this.shortLane,
    canStart: (fn) => isShortRun(this.byFn[fn]!.invMs, undefined, this.byFn[fn]!.running) && this.canStart(fn),
    start: (inv) => { if (!this.start(inv)) return false; inv.lane = true; this.inLane++; return true }
  }

  /** The board's real speed (the profile's, unless a sensitivity run makes the profile a misestimate). */
  trueSpeed: number

  constructor (readonly id: string, readonly index: number, readonly profile: BoardProfile, private readonly h: BoardHooks, fnCount: number, private readonly discipline: QueueDiscipline = 'fifo', readonly slots = profile.cores, shortLane?: number) {
    for (let f = 0; f < fnCount; f++) { const s = new SimFn(); this.byFn.push(s); this.functions[h.fnName(f)] = s }
    this.trueSpeed = profile.speed
    this.shortLane = shortLane ?? (discipline === 'ratio' ? SHORT_LANE : 0)
  }

  get queueLimit (): number | undefined { return this.h.queueLimit?.() }
  /** The name of function `fn` (its index). */
  fnName (fn: number): string { return this.h.fnName(fn) }
  get powerW (): number { return this.powerAt() }
  get bootW (): number { return (this.profile.idle_w + this.profile.peak_w) / 2 }

  private powerAt (): number {
    const p = this.profile
    switch (this.power) {
      case 'on': case 'draining': return busyPowerW(p, this.cpuBusy + (this.h.runtimeCpu?.().idleCores ?? 0) / this.trueSpeed)
      case 'shutting-down': return p.idle_w
      case 'booting': return this.bootW
      default: return 0
    }
  }

  /** Integrates energy up to now; call before any change of power state or busy cores. */
  account (): void {
    const now = this.h.now()
    const dt = (now - this.lastT) / 1000
    this.lastT = now
    if (dt <= 0) return
    const w = this.powerAt()
    this.energy += w * dt
    if (this.power === 'booting') this.bootEnergy += w * dt
    else if (this.power === 'shutting-down') this.shutdownEnergy += w * dt
    else if (w > 0 && this.busy === 0) { this.idleEnergy += w * dt; this.idleMs += dt * 1000 }
    if (w > 0) this.poweredMs += dt * 1000
    if (this.power === 'on' || this.power === 'draining') { this.upMs += dt * 1000; this.upEnergy += w * dt }
  }

  enqueue (inv: Inv): void {
    this.inflight++
    this.dirty = true
    const f = this.byFn[inv.fn]!
    f.queueLen++
    const ref = this.h.refMs?.(inv.fn) ?? 0
    inv.est = f.serviceMs > 0 ? f.serviceMs : (ref > 0 ? ref : 100) / this.profile.speed
    this.workMs += inv.est
    inv.hm = f.invMs > 0 ? 1 / f.invMs : inv.est
    this.addQueued(inv.est, 1)
    if (this.discipline === 'fifo') this.queue.push(inv)
    else this.fq.push(inv.fn, inv)
    this.dispatch()
  }

  private addQueued (est: number, sign: 1 | -1): void { addQueuedWork(this.queuedByClass, est, sign) }

  queuedOf (fn: number): number { return this.byFn[fn]?.queueLen ?? 0 }

  /** Starts what can start; the next completion is rescheduled once (in `tick`, after it). */
  dispatch (): void {
    const before = this.busy
    if (this.discipline === 'fifo') this.dispatchFifo(); else this.dispatchByRatio()
    if (this.busy !== before && !this.ticking) this.reschedule()
  }

  /** One queue in arrival order; the head waits for a runtime (head-of-line) when none can be had. */
  private dispatchFifo (): void {
    while (this.busy < this.slots && this.head < this.queue.length) {
      if (!this.start(this.queue[this.head]!)) return
      this.head++
      if (this.head > 1024 && this.head * 2 > this.queue.length) { this.queue.splice(0, this.head); this.head = 0 }
    }
  }

  /** A queue per function; a free slot takes the head with the highest response ratio that can start. */
  private dispatchByRatio (): void {
    const now = this.h.now()
    this.fq.drain(now, this.drainHooks)
    if (this.shortLane > 0) this.fq.drain(now, this.laneHooks)
  }

  /** A warm runtime slot is free, or one more runtime of fn may be started (memory permitting). */
  private canStart (fn: number): boolean {
    const f = this.byFn[fn]!
    return this.warmFree(fn) || f.runtimes < this.perFnCap
  }

  /** Runtimes of one function the board holds at most: its cores (the agent), or as memory allows (Kubernetes pods). */
  private get perFnCap (): number { return this.discipline === 'ps' ? Infinity : this.profile.cores }

  private warmFree (fn: number): boolean {
    const f = this.byFn[fn]!
    const slots = this.h.slots(fn)
    return f.runtimes > 0 && (slots === 0 || f.runtimes * slots > f.running)
  }

  /** Starts inv on a core (cold when no warm slot is free); false when no runtime can be had. */
  private start (inv: Inv): boolean {
    const f = this.byFn[inv.fn]!
    let extra = 0
    if (!this.warmFree(inv.fn)) {
      if (!this.makeRoom(inv.fn)) return false
      this.setRuntimes(inv.fn, f.runtimes + 1)
      this.memUsed += this.h.memoryMb(inv.fn)
      this.coldStarts++
      inv.cold = true
      extra = this.h.coldMs(inv.fn) / this.trueSpeed
      this.runtimesStarted(1, extra)
    }
    this.addQueued(inv.est, -1)
    f.queueLen--
    f.running++
    f.lastUsed = this.h.now()
    this.account()
    this.advance()
    this.busy++
    this.dirty = true
    inv.start = this.h.now()
    const run = inv.durRef / this.trueSpeed
    const share = this.h.cpuShare?.() ?? 1
    const own = (this.h.runtimeCpu?.().perRunMs ?? 0) / this.trueSpeed
    // Its cores averaged over its service: the cold start and the runtime's own work whole, the run at its share.
    inv.cpu = share >= 1 && own === 0 ? 1 : extra + run > 0 ? (extra + share * run + own) / (extra + run) : share
    this.cpuBusy += inv.cpu
    inv.finishV = this.vt + run + extra
    this.running.push(inv)
    return true
  }

  /** Service rate of each running invocation: the cores shared equally (the OS time-slices the runtimes' threads). */
  private rate (): number { return this.busy <= this.profile.cores ? 1 : this.profile.cores / this.busy }

  /** Moves the board's virtual time (ms of full-speed service each running invocation has had) to now. */
  private advance (): void {
    const now = this.h.now()
    this.vt += (now - this.lastVt) * this.rate()
    this.lastVt = now
  }

  /** The running invocation that finishes first, and when; earlier wake-ups become stale. */
  private reschedule (): void {
    this.gen++
    let min = Infinity
    for (const r of this.running) if ((r.finishV ?? 0) < min) min = r.finishV ?? 0
    if (min < Infinity) this.h.wakeAt(this, this.h.now() + Math.max(0, min - this.vt) / this.rate(), this.gen)
  }

  /** The board's wake-up: the invocation whose service is complete finishes (stale wake-ups are ignored). */
  tick (gen: number): void {
    if (gen !== this.gen) return
    this.advance()
    let k = -1
    let min = Infinity
    for (let i = 0; i < this.running.length; i++) { const v = this.running[i]!.finishV ?? 0; if (v < min) { min = v; k = i } }
    if (k < 0) return
    const inv = this.running[k]!
    this.running[k] = this.running[this.running.length - 1]!
    this.running.pop()
    this.ticking = true
    try { this.h.finished(this, inv, this.h.now() - (inv.start ?? this.h.now())) } finally { this.ticking = false }
    this.reschedule()
  }

  /** Room for one more runtime of fn: under `cores` of it, and memory (evicting the least recently used idle runtime). */
  private makeRoom (fn: number): boolean {
    const f = this.byFn[fn]!
    if (f.runtimes >= this.perFnCap) return false
    const need = this.h.memoryMb(fn)
    while (this.memUsed + need > this.profile.runtime_budget_mb) {
      const victim = lruIdleVictim(this.byFn, this.h.slots, fn)
      if (victim < 0) return false
      this.setRuntimes(victim, this.byFn[victim]!.runtimes - 1)
      this.memUsed -= this.h.memoryMb(victim)
    }
    return true
  }

  finish (inv: Inv, serviceMs: number): void {
    const f = this.byFn[inv.fn]!
    this.account()
    this.advance()
    this.busy--
    this.cpuBusy = this.busy === 0 ? 0 : this.cpuBusy - (inv.cpu ?? 1)
    if (inv.lane === true) { this.inLane--; inv.lane = false }
    this.inflight--
    this.workMs = this.inflight === 0 ? 0 : this.workMs - inv.est
    f.running--
    f.serviceMs = ewma(f.serviceMs, serviceMs, FN_SERVICE_ALPHA)
    f.serviceRate = 1000 / f.serviceMs
    f.invMs = learnInvMs(f.invMs === 0 ? undefined : f.invMs, serviceMs)
    this.meanServiceMs = ewma(this.meanServiceMs, serviceMs, BOARD_SERVICE_ALPHA)
    this.serviceRate = this.profile.cores * 1000 / this.meanServiceMs
    this.dirty = true
    this.dispatch()
  }

  /** Applies a warm target: start missing runtimes (off the request path) and evict idle ones beyond it. */
  warm (fn: number, target: number): void {
    const f = this.byFn[fn]!
    const mem = this.h.memoryMb(fn)
    const want = Math.min(target, this.perFnCap)
    while (f.runtimes < want && this.makeRoom(fn)) { this.setRuntimes(fn, f.runtimes + 1); this.memUsed += mem; this.runtimesStarted(1, 0) }
    while (f.runtimes > Math.max(want, busyRuntimes(f.running, this.h.slots(fn)))) { this.setRuntimes(fn, f.runtimes - 1); this.memUsed -= mem }
  }

  /**
   * The runtime's CPU for `n` runtimes started (`RuntimeCpu.perRuntimeMs`), less `coveredMs` each
   * that a cold start's own time already keeps a core busy for: energy at one busy core's draw.
   */
  private runtimesStarted (n: number, coveredMs: number): void {
    const ms = (this.h.runtimeCpu?.().perRuntimeMs ?? 0) / this.trueSpeed - coveredMs
    if (!(ms > 0) || n <= 0) return
    const j = n * ms / 1000 * (this.profile.peak_w - this.profile.idle_w) / this.profile.cores
    this.energy += j
    if (this.power === 'on' || this.power === 'draining') this.upEnergy += j
  }

  private setRuntimes (fn: number, n: number): void {
    const f = this.byFn[fn]!
    this.runtimeCount += n - f.runtimes
    f.runtimes = n
    this.dirty = true
  }

  setPower (p: PowerState): void {
    this.account()
    this.power = p
    this.dirty = true
    if (p === 'gated') { for (let i = 0; i < this.byFn.length; i++) this.setRuntimes(i, 0); this.memUsed = 0 }
    if (p === 'booting') this.boots++
  }
}
