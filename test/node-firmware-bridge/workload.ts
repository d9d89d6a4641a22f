/**
 * A simulated board under a mixed concurrent workload, for the conservation test and the
 * accuracy benchmark. The board's true power is P0 + Σ k_f·u_i + γ·U²: every invocation i
 * draws its function's intensity k_f (W per busy core) times its CPU rate u_i, and the whole
 * board a non-linear excess γ·U² (U = Σu / cores). An invocation's true energy is its own term
 * integrated over its run, plus P0 split equally among the invocations running, plus the
 * excess split in proportion to own power. The meter sees that power only through the
 * simulated INA219 at the profile's sample rate; the attribution sees begin/end and an
 * estimated CPU time per invocation.
 *
 * That truth has the estimator's own functional form, so matching it is parameter recovery.
 * `truth` picks other forms the estimator does not model (see TRUTHS), and `meter` adds the
 * INA219's datasheet errors to what the meter sees.
 */
import { getProfile } from '../../boards/index.js'
import { BoardConfigSchema, type BoardProfile } from '../../boards/schema.js'
import { ManualClock } from '../../runtime/shared/clock.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { seededRng } from '../../runtime/shared/rng.js'
import { createEnergyPort, type Ledger, type MeteredEnergyPort } from '../../node-firmware-bridge/index.js'

/** `mem`: share of the memory system's bandwidth an invocation uses while it runs (0..1). */
export interface FnSpec { readonly name: string, readonly k: number, readonly u: readonly [number, number], readonly ms: readonly [number, number], readonly perSec: number, readonly mem?: number }

export const MIXED: readonly FnSpec[] = [
  { name: 'resize', k: 1.15, u: [0.85, 1.0], ms: [200, 1500], perSec: 0.8, mem: 0.35 },
  { name: 'hash', k: 1.0, u: [0.9, 1.0], ms: [30, 300], perSec: 3, mem: 0.05 },
  { name: 'kv-scan', k: 0.45, u: [0.5, 0.9], ms: [100, 800], perSec: 1.5, mem: 0.8 },
  { name: 'fetch-json', k: 0.6, u: [0.05, 0.3], ms: [100, 1000], perSec: 2, mem: 0.1 }
]

/**
 * Functional forms of the board's true power above idle, per running invocation i (own_i) and
 * for the board (excess, split in proportion to own power):
 * - `estimator`: own_i = k_f·u_i, excess = γ·U² — the estimator's own model (parameter recovery);
 * - `memory-bound`: half the CPU term, plus DRAM/memory-controller power M·min(1, B)^0.6
 *   (B = Σ mem_i) split by each invocation's bandwidth — power that CPU time does not see;
 * - `dvfs`: the governor steps the clock with U (≤ 0.25: 600 MHz, ≤ 0.6: 1 GHz, else 1.5 GHz on a
 *   Pi 4), and dynamic power per busy core scales as f·V² at each step (0.3, 0.6, 1.0 of full).
 */
export const TRUTHS = ['estimator', 'memory-bound', 'dvfs'] as const
export type Truth = (typeof TRUTHS)[number]
const MEMORY_W = 1.2
const dvfsStep = (util: number): number => util <= 0.25 ? 0.3 : util <= 0.6 ? 0.6 : 1.0

/**
 * INA219 errors from its datasheet (SBOS448): shunt offset up to ±100 µV,
 * gain error up to ±0.5 %, and conversion noise of about one 10 µV shunt LSB, on the boards'
 * 0.1 Ω shunt at 5.1 V. Drawn once per run (offset, gain) and per sample (noise).
 */
export const INA219_DATASHEET = { maxOffsetUv: 100, maxGain: 0.005, noiseUv: 10, shuntOhm: 0.1, busV: 5.1 } as const

export interface WorkloadOptions {
  readonly seed: number
  readonly durationMs: number
  readonly fns?: readonly FnSpec[]
  readonly profile?: string
  /** W of non-linear excess at full utilisation. */
  readonly gammaW?: number
  /** Relative error of the CPU time the agent reports (uniform ±). */
  readonly cpuNoise?: number
  /** Functional form of the true power (default `estimator`). */
  readonly truth?: Truth
  /** Add the INA219's datasheet offset, gain error and noise to what the meter sees. */
  readonly meterErrors?: boolean
}

interface Inv { readonly id: string, readonly fn: FnSpec, readonly start: number, readonly end: number, readonly u: number, readonly cpuMs: number }

export interface InvocationResult { readonly id: string, readonly fn: string, readonly startMs: number, readonly wallMs: number, readonly trueJ: number, readonly attributedJ: number, readonly baselineJ: number }

export interface WorkloadResult {
  readonly invocations: readonly InvocationResult[]
  readonly ledger: Ledger
  readonly baselineLedger: Ledger
  readonly trueTotalJ: number
  readonly port: MeteredEnergyPort
}

const T0 = 10_000

const generate = (o: WorkloadOptions, cores: number): Inv[] => {
  const rnd = seededRng(o.seed)
  const between = ([a, b]: readonly [number, number]): number => a + (b - a) * rnd()
  const arrivals: Array<{ at: number, fn: FnSpec }> = []
  for (const fn of o.fns ?? MIXED) {
    for (let t = T0 + 500, guard = 0; guard < 1e6; guard++) {
      t += -Math.log(1 - rnd()) * 1000 / fn.perSec
      if (t > T0 + o.durationMs) break
      arrivals.push({ at: Math.round(t), fn })
    }
  }
  arrivals.sort((a, b) => a.at - b.at)
  const out: Inv[] = []
  const noise = o.cpuNoise ?? 0.1
  for (const a of arrivals) {
    const u = between(a.fn.u)
    const load = out.filter((i) => i.start <= a.at && i.end > a.at).reduce((s, i) => s + i.u, 0)
    if (load + u > cores) continue
    const ms = Math.round(between(a.fn.ms))
    out.push({ id: `i${out.length}`, fn: a.fn, start: a.at, end: a.at + ms, u, cpuMs: u * ms * (1 + noise * (2 * rnd() - 1)) })
  }
  return out
}

/** The true power as pieces between event times, with its exact integral. */
const truth = (invs: readonly Inv[], p: BoardProfile, gammaW: number, form: Truth) => {
  const times = [...new Set(invs.flatMap((i) => [i.start, i.end]))].sort((a, b) => a - b)
  const pieces = times.slice(0, -1).map((from, k) => {
    const to = times[k + 1] ?? from
    const active = invs.filter((i) => i.start <= from && i.end >= to)
    const util = active.reduce((a, i) => a + i.u, 0) / p.cores
    const bandwidth = active.reduce((a, i) => a + (i.fn.mem ?? 0), 0)
    const memoryW = bandwidth > 0 ? MEMORY_W * Math.min(1, bandwidth) ** 0.6 : 0
    const own = active.map((i) => form === 'estimator'
      ? i.fn.k * i.u
      : form === 'memory-bound'
        ? 0.5 * i.fn.k * i.u + (bandwidth > 0 ? memoryW * (i.fn.mem ?? 0) / bandwidth : 0)
        : i.fn.k * i.u * dvfsStep(util))
    const sumOwn = own.reduce((a, b) => a + b, 0)
    const excess = form === 'estimator' ? gammaW * util * util : 0
    return { from, to, active, own, sumOwn, excess, watts: p.idle_w + sumOwn + excess }
  })
  const trueJ = new Map<string, number>()
  for (const pc of pieces) {
    const sec = (pc.to - pc.from) / 1000
    pc.active.forEach((i, n) => {
      const own = pc.own[n] ?? 0
      trueJ.set(i.id, (trueJ.get(i.id) ?? 0) + sec * (own + p.idle_w / pc.active.length + (pc.sumOwn > 0 ? pc.excess * own / pc.sumOwn : 0)))
    })
  }
  const wattsAt = (t: number): number => {
    let lo = 0
    let hi = pieces.length - 1
    if (hi < 0 || t < (pieces[0]?.from ?? 0) || t >= (pieces[hi]?.to ?? 0)) return p.idle_w
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if ((pieces[mid]?.from ?? 0) <= t) lo = mid; else hi = mid - 1 }
    return pieces[lo]?.watts ?? p.idle_w
  }
  /** Mean power over [from, to]: exact over the pieces (1 ms resolution suffices, events are whole ms). */
  const meanW = (from: number, to: number): number => {
    if (to <= from) return wattsAt(from)
    let e = 0
    const a = Math.floor(from)
    const b = Math.ceil(to)
    for (let t = a; t < b; t++) e += wattsAt(t + 0.5) * (Math.min(t + 1, to) - Math.max(t, from))
    return e / (to - from)
  }
  return { trueJ, meanW, totalJ: (from: number, to: number) => meanW(from, to) * (to - from) / 1000 }
}

/** What the INA219 reports of a true mean power: offset and gain fixed per part, noise per conversion. */
const withMeterErrors = (meanW: (from: number, to: number) => number, rnd: () => number) => {
  const d = INA219_DATASHEET
  const offsetW = (2 * rnd() - 1) * d.maxOffsetUv * 1e-6 / d.shuntOhm * d.busV
  const gain = 1 + (2 * rnd() - 1) * d.maxGain
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd())
  return (from: number, to: number): number => meanW(from, to) * gain + offsetW + gauss() * d.noiseUv * 1e-6 / d.shuntOhm * d.busV
}

const flush = async (): Promise<void> => { await new Promise<void>((resolve) => setImmediate(resolve)) }

export const runWorkload = async (o: WorkloadOptions): Promise<WorkloadResult> => {
  const profile = getProfile(o.profile ?? 'raspberry-pi-4b')
  const invs = generate(o, profile.cores)
  const model = truth(invs, profile, o.gammaW ?? 0.8, o.truth ?? 'estimator')
  const seen = o.meterErrors === true ? withMeterErrors(model.meanW, seededRng(o.seed + 7919)) : model.meanW
  const clock = new ManualClock(T0)
  const config = BoardConfigSchema.parse({ id: 'b1', profile: profile.name, broker: 'mqtt://localhost', ina219: { bus: 1, address: 0x40 }, sim: {} })
  const make = (learn: boolean): MeteredEnergyPort => createEnergyPort({ config, profile, clock, log: silentLogger, simPowerW: seen, learn })
  const port = make(true)
  const baseline = make(false)
  await port.start()
  await baseline.start()
  const events = invs.flatMap((i) => [{ t: i.start, inv: i, begin: true }, { t: i.end, inv: i, begin: false }])
    .sort((a, b) => a.t - b.t || (a.begin === b.begin ? 0 : a.begin ? 1 : -1))
  const period = 1000 / profile.sample_hz
  const endAt = T0 + o.durationMs + 3000
  let nextSample = T0 + period
  const shares = new Map<string, [number, number]>()
  let k = 0
  for (let guard = 0; guard < 10_000_000 && clock.now() < endAt; guard++) {
    const ev = events[k]
    const target = Math.min(ev?.t ?? Infinity, nextSample, endAt)
    clock.advance(target - clock.now())
    if (target === nextSample) { await flush(); nextSample += period }
    for (; k < events.length && (events[k]?.t ?? Infinity) <= clock.now(); k++) {
      const e = events[k]
      if (e === undefined) break
      if (e.begin) { port.begin(e.inv.id, e.inv.fn.name); baseline.begin(e.inv.id, e.inv.fn.name) } else {
        shares.set(e.inv.id, [port.end(e.inv.id, e.inv.cpuMs).energy_mj / 1000, baseline.end(e.inv.id, e.inv.cpuMs).energy_mj / 1000])
      }
    }
  }
  await port.stop()
  await baseline.stop()
  const invocations = invs.map((i) => ({ id: i.id, fn: i.fn.name, startMs: i.start - T0, wallMs: i.end - i.start, trueJ: model.trueJ.get(i.id) ?? 0, attributedJ: shares.get(i.id)?.[0] ?? 0, baselineJ: shares.get(i.id)?.[1] ?? 0 }))
  return { invocations, ledger: port.ledger(), baselineLedger: baseline.ledger(), trueTotalJ: model.totalJ(T0, endAt), port }
}

/** Mean absolute error relative to the true energy: energy-weighted (Σ|a−t|/Σt) and per invocation (mean |a−t|/t). */
export const errors = (rs: readonly InvocationResult[], pick: (r: InvocationResult) => number): { weighted: number, perInvocation: number } => {
  let abs = 0
  let tot = 0
  let rel = 0
  for (const r of rs) { abs += Math.abs(pick(r) - r.trueJ); tot += r.trueJ; rel += Math.abs(pick(r) - r.trueJ) / r.trueJ }
  return { weighted: abs / tot, perInvocation: rel / Math.max(1, rs.length) }
}
