import type { BoardProfile } from '../../boards/schema.js'
import type { ClusterView, Decision, QueueDiscipline, ScaleResult } from '../leader/policies/types.js'
import type { PolicySet } from '../leader/policies/policy-sets.js'
import type { DemandFn } from '../leader/demand.js'
import { WispError } from '../shared/errors.js'
import { seededRng, type Rng } from '../shared/rng.js'
import { EventHeap, type Inv } from './heap.js'
import { SimBoard, type BoardHooks, type RuntimeCpu } from './sim-board.js'
import { simBoardState, simIncarnation, simOfflineState } from './sim-gossip.js'
import { SimLeader } from './sim-leader.js'
import { ACTIVATOR_QUEUE_CAP } from '../leader/policies/balance-activator.js'
import { drawMinute, type Trace } from './trace.js'
import { figures, LatencyHistogram, type PolicyFigures } from './report.js'
import { SimGreenSide, type SimGreen, type SimGreenFigures } from './sim-green.js'

export interface SimOptions {
  readonly trace: Trace
  readonly boards: readonly BoardProfile[]
  readonly policies: PolicySet
  readonly seed: number
  /** Multiplies every per-minute count (fractions rounded at random). */
  readonly scale: number
  /** Cold-start cost at reference speed (ms): runtime creation plus compile; divided by the board's speed. */
  readonly coldMs: number
  /** Invocations one runtime co-executes (manifest `concurrency`). */
  readonly concurrency: number
  readonly memoryMb: number
  /** Per function and board queue bound; past it, WISP_OVERLOADED. */
  readonly queueLimit: number
  /** After the trace ends, how long in-flight work may finish before it counts as lost. */
  readonly drainMs: number
  /** Overrides the policy set's board queue discipline (an ablation: the baseline with the agent's order). */
  readonly queue?: QueueDiscipline
  /** Invocations a board runs at once per core (the agent's `run_slots` ÷ cores); beyond the cores they share them. */
  readonly slotsPerCore?: number
  /**
   * Sensitivity: the boards' real speed differs from their profiles' (which the policies read) by
   * this fraction, alternately faster and slower (board 1 +e, board 2 −e, ...). 0 = exact.
   */
  readonly speedError?: number
  /**
   * The share of a run's time its handler keeps a core busy, for the power line: 1 (the default,
   * the evaluation's) = CPU-bound; 0 = it waits on a timer or I/O (the sim-vs-live replay's
   * sleeping handler). Cold starts keep a core busy either way. Within 0..1.
   */
  readonly cpuShare?: number
  /** The runtime's own CPU per run and at idle, at reference speed (sim-board.ts); default none (the evaluation). Non-negative. */
  readonly runtimeCpu?: RuntimeCpu
  readonly onDecision?: (d: Decision) => void
  readonly onProgress?: (fraction: number) => void
  /** At the end: per-board and per-function detail (analysis of where time, energy and rejections go). */
  readonly onDetail?: (d: SimDetail) => void
  /** Carbon accounting and deferrable invocations (runtime/sim/sim-green.ts); absent = none. */
  readonly green?: SimGreen
  readonly onGreen?: (g: SimGreenFigures) => void
}

export interface SimDetail {
  /** `up_s` / `up_energy_j`: time and energy with the board's agent running (on or draining: not booting, shutting down or gated). */
  readonly boards: ReadonlyArray<{ id: string, profile: string, powered_h: number, up_s: number, up_energy_j: number, idle_h: number, idle_energy_j: number, boot_energy_j: number, shutdown_energy_j: number, energy_j: number, cold_starts: number, rejected: number, boots: number, invocations: number, mean_wait_ms: number }>
  readonly fns: ReadonlyArray<{ fn: string, invocations: number, mean_slowdown: number, mean_ref_ms: number, rejected: number }>
}

export const SIM_DEFAULTS = { scale: 1, coldMs: 20, concurrency: 1, memoryMb: 64, queueLimit: 256, drainMs: 600_000 }

const ARRIVAL = 0
const DONE = 1
const MINUTE = 2
const SCALE = 3
const POWER = 4
const POWER_STEP = 5
const RELEASE = 6
const FORCE = 7
const PLACE_EVERY_MS = 10_000

/** How often an idle board's agent gossips (the agents' `gossip_ms` default); a board that changed gossips before the next decision. */
export const SIM_GOSSIP_MS = 1000

const targetsChanged = (a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean => {
  let n = 0
  for (const k in b) { n++; if (a[k] !== b[k]) return true }
  for (const _ in a) n--
  return n !== 0
}

/** Runs one policy set over a trace: a discrete-event simulation on a manual clock, deterministic for a seed. */
export const simulate = (opts: SimOptions): PolicyFigures => {
  const o = { ...SIM_DEFAULTS, ...opts }
  const { trace, policies: ps } = o
  const cpuShare = o.cpuShare ?? 1
  if (!(cpuShare >= 0 && cpuShare <= 1)) throw new WispError('WISP_BAD_CONFIG', `cpuShare must be within 0..1 (got ${String(o.cpuShare)})`)
  const runtimeCpu: RuntimeCpu = o.runtimeCpu ?? { perRunMs: 0, idleCores: 0 }
  if (!(runtimeCpu.perRunMs >= 0 && runtimeCpu.idleCores >= 0 && (runtimeCpu.perRuntimeMs ?? 0) >= 0)) throw new WispError('WISP_BAD_CONFIG', 'runtimeCpu figures must be non-negative')
  const arrivalsRng: Rng = seededRng(o.seed)
  const policyRng: Rng = seededRng(o.seed ^ 0x5bd1e995)
  const heap = new EventHeap()
  let now = 0
  const names = trace.fns.map((f) => f.name)
  const fnIndex = new Map(names.map((n, i) => [n, i]))
  // A set may run every function at its own containerConcurrency (the Knative sets).
  const concurrency = ps.concurrency ?? o.concurrency
  const fnList: DemandFn[] = names.map((name) => ({ name, concurrency, memory_mb: o.memoryMb }))
  const hooks: BoardHooks = {
    now: () => now,
    wakeAt: (b, at, gen) => heap.push(at, DONE, b.index, gen),
    finished: (b, inv, ms) => done(b, inv, ms),
    coldMs: () => o.coldMs,
    slots: () => concurrency,
    memoryMb: () => o.memoryMb,
    fnName: (i) => names[i] ?? '',
    refMs: (i) => leader.serviceMsOf(names[i] ?? ''),
    queueLimit: () => o.queueLimit,
    cpuShare: () => cpuShare,
    runtimeCpu: () => runtimeCpu
  }
  const discipline = o.queue ?? ps.queue
  // Processor sharing: every runtime's run is on a core at once; otherwise the agent's run slots.
  const boards = o.boards.map((p, i) => new SimBoard(`b${i + 1}`, i, p, hooks, names.length, discipline, discipline === 'ps' ? 1e9 : Math.max(1, Math.round(p.cores * (o.slotsPerCore ?? ps.slotsPerCore ?? 1)))))
  const e = o.speedError ?? 0
  boards.forEach((b, i) => { b.trueSpeed = b.profile.speed * (i % 2 === 0 ? 1 + e : 1 - e) })
  // Each board gossips its profile by name; two different profiles of one name get a key each.
  const profiles = new Map<string, BoardProfile>()
  const profileKey = boards.map((b, i) => {
    const had = profiles.get(b.profile.name)
    const key = had === undefined || had === b.profile ? b.profile.name : `${b.profile.name}~${i}`
    profiles.set(key, b.profile)
    return key
  })
  // The leader's side: the live leader's cluster state and demand, fed what the live leader receives.
  const leader = new SimLeader(fnList, profiles, o.queueLimit)
  const incarnation = boards.map((b) => simIncarnation(0, b.index, 0))
  const seq = new Float64Array(boards.length)
  const lastGossip = new Float64Array(boards.length).fill(-Infinity)
  /** A board whose agent runs gossips when it changed, and every SIM_GOSSIP_MS. */
  const gossip = (): void => {
    for (const b of boards) {
      if (b.power === 'gated' || b.power === 'booting') continue
      if (!b.dirty && now - lastGossip[b.index]! < SIM_GOSSIP_MS) continue
      b.dirty = false
      lastGossip[b.index] = now
      leader.onState(simBoardState(b, incarnation[b.index]!, ++seq[b.index]!, now, profileKey[b.index]!))
    }
  }
  /** The leader's clock at now, and the gossip due delivered. */
  const sync = (): void => { leader.at(now); gossip() }
  const dispatchView = (fn: number): ClusterView => { sync(); return leader.dispatchView(fnList[fn]!) }
  const policyView = (consume: boolean): ClusterView => { sync(); return leader.policyView(consume) }
  const routable = (b: SimBoard): boolean => leader.cluster.routable(b.id)
  /** The power controller's side: the leader's power field follows the board's; a gated board's Last Will arrives; a booted one gossips anew. */
  const setPower = (b: SimBoard, p: SimBoard['power']): void => {
    b.setPower(p)
    leader.at(now)
    if (p === 'gated') leader.onState(simOfflineState(b, incarnation[b.index]!, now))
    if (p === 'on' && leader.cluster.get(b.id)?.status === 'offline') {
      incarnation[b.index] = simIncarnation(now, b.index, b.boots)
      seq[b.index] = 0
      gossip()
    }
    leader.setPower(b.id, p)
  }
  // Knative's activator: one queue per function at the leader, of invocations no runtime has a slot for.
  const actQ: Array<{ items: Inv[], head: number }> = names.map(() => ({ items: [], head: 0 }))
  const actWaiting = new Set<number>()
  const byId = new Map(boards.map((b) => [b.id, b]))
  const hist = new LatencyHistogram()
  const slowHist = new LatencyHistogram()
  const slowSum = new Float64Array(names.length)
  const slowN = new Float64Array(names.length)
  let rejected = 0
  const rejBoard = new Float64Array(o.boards.length + 1)
  const rejFn = new Float64Array(names.length)
  const durSum = new Float64Array(names.length)
  const waitSum = new Float64Array(o.boards.length)
  const doneN = new Float64Array(o.boards.length)
  let invocations = 0
  const record = o.onDecision
  const endMs = trace.minutes * 60_000
  let lastScale: ScaleResult = { targets: {}, forecast: {}, decisions: [] }
  let lastTargets: Readonly<Record<string, number>> = {}
  let lastPlaceAt = -Infinity
  let outstanding = 0
  const green = o.green === undefined ? null : new SimGreenSide(o.green, boards, ps.activator !== true)

  const reject = (inv: Inv, b: SimBoard | undefined): void => {
    rejected++
    rejBoard[b === undefined ? o.boards.length : b.index] = (rejBoard[b === undefined ? o.boards.length : b.index] ?? 0) + 1
    rejFn[inv.fn] = (rejFn[inv.fn] ?? 0) + 1
  }
  /** Activator: sends the function's buffered invocations to runtimes with a free slot, oldest first. */
  const drain = (fn: number): void => {
    const q = actQ[fn]!
    while (q.head < q.items.length) {
      const dec = ps.balance.pick(dispatchView(fn), names[fn]!, policyRng)
      record?.(dec)
      const b = dec.choice === null ? undefined : byId.get(dec.choice)
      if (b === undefined || !routable(b)) break
      send(b, q.items[q.head]!)
      q.head++
    }
    if (q.head === q.items.length) { q.items.length = 0; q.head = 0; actWaiting.delete(fn) } else if (q.head > 1024 && q.head * 2 > q.items.length) { q.items.splice(0, q.head); q.head = 0 }
  }
  const drainAll = (): void => { for (const fn of [...actWaiting]) drain(fn) }
  /** The leader sends inv to board b: its in-flight counts (the board's and the function's) go up, as `Leader.dispatch` keeps them. */
  const send = (b: SimBoard, inv: Inv): void => {
    leader.dispatched(b.id, names[inv.fn]!)
    b.enqueue(inv)
  }
  const arriveActivator = (inv: Inv): void => {
    const fn = names[inv.fn]!
    const q = actQ[inv.fn]!
    // Buffered invocations count as concurrency for the KPA (the activator reports them).
    leader.track(fn, 1)
    outstanding++
    if (q.head < q.items.length) {
      if (q.items.length - q.head >= ACTIVATOR_QUEUE_CAP) { leader.track(fn, -1); outstanding--; reject(inv, undefined); return }
      q.items.push(inv)
      return
    }
    const dec = ps.balance.pick(dispatchView(inv.fn), fn, policyRng)
    record?.(dec)
    const b = dec.choice === null ? undefined : byId.get(dec.choice)
    if (b !== undefined && routable(b)) { send(b, inv); return }
    if (dec.inputs?.buffer === true) { q.items.push(inv); actWaiting.add(inv.fn); return }
    leader.track(fn, -1)
    outstanding--
    reject(inv, b)
  }
  const arrive = (inv: Inv): void => {
    invocations++
    if (green !== null) {
      const at = green.arrive(inv, names[inv.fn]!, now, leader.serviceMsOf(names[inv.fn]!))
      if (at > now) { heap.push(at, RELEASE, inv.fn, 0, inv); heap.push(inv.latest ?? at, FORCE, inv.fn, 0, inv); return }
    }
    dispatchInv(inv)
  }
  // Deferred invocations whose window has opened, waiting for a free core on an awake board (or their latest start).
  const ready: Inv[] = []
  let readyHead = 0
  const release = (inv: Inv): void => { ready.push(inv); drainReady() }
  const force = (inv: Inv): void => { if (inv.latest !== undefined) { inv.latest = undefined; dispatchInv(inv) } }
  const drainReady = (): void => {
    while (readyHead < ready.length) {
      const inv = ready[readyHead]!
      if (inv.latest !== undefined) {
        if (green?.mayStart(dispatchView(inv.fn)) === false) break
        inv.latest = undefined
        dispatchInv(inv)
      }
      readyHead++
    }
    if (readyHead > 4096 && readyHead * 2 > ready.length) { ready.splice(0, readyHead); readyHead = 0 }
  }
  const dispatchInv = (inv: Inv): void => {
    const fn = names[inv.fn]!
    leader.arrive(fn)
    if (ps.activator === true) { arriveActivator(inv); return }
    const view = green === null || inv.deadline === undefined ? dispatchView(inv.fn) : green.routeView(dispatchView(inv.fn), fn, inv, leader.serviceMsOf(fn))
    const dec = ps.balance.pick(view, fn, policyRng)
    record?.(dec)
    const b = dec.choice === null ? undefined : byId.get(dec.choice)
    // Past the board's queue bound its agent answers WISP_OVERLOADED.
    if (b === undefined || !routable(b) || b.queuedOf(inv.fn) >= o.queueLimit) { reject(inv, b); return }
    leader.track(fn, 1)
    outstanding++
    send(b, inv)
  }
  const done = (b: SimBoard, inv: Inv, serviceMs: number): void => {
    // The run time the agent reports (`run_ms`: without the cold start).
    const runMs = serviceMs - (inv.cold ? o.coldMs / b.trueSpeed : 0)
    const fn = names[inv.fn]!
    b.finish(inv, runMs)
    // The done's receipt, as the live leader takes it in (`Leader.onDone`).
    leader.done(b.id, fn, runMs, serviceMs - runMs, inv.cold)
    leader.track(fn, -1)
    outstanding--
    const lat = now - inv.arrival
    waitSum[b.index] = (waitSum[b.index] ?? 0) + lat - serviceMs
    doneN[b.index] = (doneN[b.index] ?? 0) + 1
    hist.add(lat)
    green?.done(b, inv, fn, now, runMs, serviceMs, leader.serviceMsOf(fn))
    if (readyHead < ready.length) drainReady()
    slowHist.add(lat / Math.max(inv.durRef, 1e-3))
    slowSum[inv.fn] = (slowSum[inv.fn] ?? 0) + lat / Math.max(inv.durRef, 1e-3)
    slowN[inv.fn] = (slowN[inv.fn] ?? 0) + 1
    durSum[inv.fn] = (durSum[inv.fn] ?? 0) + inv.durRef
    if (b.power === 'draining' && b.inflight === 0) shutDown(b)
    if (actWaiting.has(inv.fn)) drain(inv.fn)
  }
  const shutDown = (b: SimBoard): void => {
    setPower(b, 'shutting-down')
    heap.push(now + b.profile.shutdown_s * 1000, POWER_STEP, b.index, 0)
  }
  const minute = (m: number): void => {
    o.onProgress?.(m / trace.minutes)
    green?.integrate(now)
    drawMinute(trace, m, o.scale, arrivalsRng, (fn, t, durRef) => heap.push(t, ARRIVAL, fn, 0, { fn, arrival: t, durRef, cold: false, est: 0 }))
    if (m + 1 < trace.minutes) heap.push((m + 1) * 60_000, MINUTE, m + 1)
  }
  const scaleTick = (): void => {
    const view = policyView(true)
    lastScale = ps.scale.tick(view, policyRng)
    if (record !== undefined) for (const d of lastScale.decisions) record(d)
    const changed = targetsChanged(lastTargets, lastScale.targets)
    if (changed || now - lastPlaceAt >= PLACE_EVERY_MS) {
      lastTargets = lastScale.targets
      lastPlaceAt = now
      const plan = ps.place.place(view, lastScale.targets, policyRng)
      if (record !== undefined) for (const d of plan.decisions) record(d)
      for (const [id, w] of Object.entries(plan.warm)) {
        const b = byId.get(id)
        if (b === undefined || b.power !== 'on') continue
        for (const [fn, n] of Object.entries(w)) { const i = fnIndex.get(fn); if (i !== undefined) b.warm(i, n) }
      }
      drainAll()
    }
  }
  const powerTick = (): void => {
    const plan = ps.power.tick(policyView(false), lastScale, policyRng)
    if (record !== undefined) for (const d of plan.decisions) record(d)
    for (const a of plan.actions) {
      const b = byId.get(a.board)
      if (b === undefined) continue
      if (a.op === 'gate' && b.power === 'on') {
        setPower(b, 'draining')
        if (b.inflight === 0) shutDown(b)
      } else if (a.op === 'wake') {
        if (b.power === 'draining') setPower(b, 'on')
        else if (b.power === 'gated') { setPower(b, 'booting'); heap.push(now + b.profile.boot_s * 1000, POWER_STEP, b.index, 0) }
      }
    }
  }
  const powerStep = (b: SimBoard): void => {
    if (b.power === 'shutting-down') setPower(b, 'gated')
    else if (b.power === 'booting') { setPower(b, 'on'); drainAll(); drainReady() }
  }

  heap.push(0, MINUTE, 0)
  heap.push(ps.scale.intervalMs, SCALE)
  heap.push(ps.power.intervalMs, POWER)
  const stopAt = endMs + o.drainMs
  for (let e = heap.pop(); e !== undefined; e = heap.pop()) {
    if (e.t > stopAt) break
    now = e.t
    switch (e.kind) {
      case ARRIVAL: arrive(e.p!); break
      case DONE: boards[e.a]!.tick(e.b); break
      case MINUTE: minute(e.a); break
      case SCALE: scaleTick(); if (now < endMs || outstanding > 0) heap.push(now + ps.scale.intervalMs, SCALE); break
      case POWER: powerTick(); if (now < endMs || outstanding > 0) heap.push(now + ps.power.intervalMs, POWER); break
      case POWER_STEP: powerStep(boards[e.a]!); break
      case RELEASE: release(e.p!); break
      case FORCE: force(e.p!); break
    }
  }
  now = Math.max(now, endMs)
  for (const b of boards) b.account()
  if (green !== null) { green.integrate(now); o.onGreen?.(green.figures()) }
  o.onProgress?.(1)
  o.onDetail?.({
    boards: boards.map((b) => ({ id: b.id, profile: b.profile.name, powered_h: b.poweredMs / 3.6e6, up_s: b.upMs / 1000, up_energy_j: b.upEnergy, idle_h: b.idleMs / 3.6e6, idle_energy_j: b.idleEnergy, boot_energy_j: b.bootEnergy, shutdown_energy_j: b.shutdownEnergy, energy_j: b.energy, cold_starts: b.coldStarts, rejected: rejBoard[b.index] ?? 0, boots: b.boots, invocations: doneN[b.index] ?? 0, mean_wait_ms: (waitSum[b.index] ?? 0) / Math.max(1, doneN[b.index] ?? 0) })),
    fns: names.map((fn, i) => ({ fn, invocations: slowN[i] ?? 0, mean_slowdown: (slowSum[i] ?? 0) / Math.max(1, slowN[i] ?? 0), mean_ref_ms: (durSum[i] ?? 0) / Math.max(1, slowN[i] ?? 0), rejected: rejFn[i] ?? 0 }))
  })
  return figures(hist, slowSum, slowN, slowHist, {
    cold_starts: boards.reduce((s, b) => s + b.coldStarts, 0),
    energy_j: boards.reduce((s, b) => s + b.energy, 0),
    idle_energy_j: boards.reduce((s, b) => s + b.idleEnergy, 0),
    boot_energy_j: boards.reduce((s, b) => s + b.bootEnergy, 0),
    shutdown_energy_j: boards.reduce((s, b) => s + b.shutdownEnergy, 0),
    board_hours: boards.reduce((s, b) => s + b.poweredMs, 0) / 3_600_000,
    rejected,
    lost: outstanding,
    invocations
  })
}
