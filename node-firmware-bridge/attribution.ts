import type { Clock } from '../runtime/shared/clock.js'
import type { PowerModel } from './power-model.js'

/**
 * Splits the measured energy of the board over the invocations that ran. The timeline is cut
 * at every sample and every begin/end into segments with a fixed set of running invocations.
 * A sample interval's measured energy is spread over its segments by the power model, then
 * each segment's energy is split: the idle part (the model's idle power) equally among the
 * invocations running (wall-time share), the dynamic rest by each one's modelled own power
 * (intensity of its function × its CPU rate). A segment with nothing running goes to the
 * unattributed-idle bucket. Every joule of a segment is handed out exactly once, so
 * attributed + unattributed idle + settlement residual = measured.
 *
 * end() must answer at once, while the current interval is not measured yet: that tail is
 * estimated from the model and settled when the interval's sample arrives. Any difference
 * that can no longer reach a running invocation is kept as the (small, signed) residual.
 */
export interface Ledger {
  readonly measuredJ: number
  readonly attributedJ: number
  readonly unattributedIdleJ: number
  readonly residualJ: number
  /** Measured energy still held for invocations that are running. */
  readonly pendingJ: number
}

export interface Share { readonly energyJ: number, readonly wallMs: number }

interface Seg {
  readonly from: number
  readonly to: number
  readonly ids: readonly string[]
  readonly fnOf: ReadonlyMap<string, string>
  readonly remaining: Set<string>
  /** CPU rates of participants that ended. */
  readonly rates: Map<string, number>
  closed: boolean
  /** Measured energy settled into the segment so far, and the idle part of it. */
  energy: number
  idle: number
  idleLeft: number
  dynLeft: number
  takenIdle: number
  takenDyn: number
}

interface Obs { readonly watts: number, readonly overlap: Map<string, number>, readonly dt: number, readonly rates: Map<string, { fn: string, rate: number }>, waiting: number }

/** The reading behind a sample: its mean power and the length of the window it averages (centred on the sample). */
export interface Reading { readonly watts: number, readonly windowMs: number }

type Who = Pick<Seg, 'ids' | 'fnOf' | 'rates'>

interface Running { readonly fn: string, readonly start: number, readonly segs: Seg[], readonly obs: Obs[] }

export interface AttributionOptions {
  readonly clock: Clock
  readonly model: PowerModel
  /** Invocations running longer are ended with an estimated CPU time (a lost end()). */
  readonly maxRunMs?: number
  /** Bound on intervals waiting for their invocations to end before they teach the model. */
  readonly maxPendingObs?: number
}

export class Attribution {
  private readonly running = new Map<string, Running>()
  private readonly fnRate = new Map<string, number>()
  private open: Seg[] = []
  private cursor: number | undefined
  private lastSample: number | undefined
  private measured = 0
  private attributed = 0
  private unattributedIdle = 0
  private residual = 0
  private pendingObs = 0
  /** The previous reading's error against the model (measured − modelled mean power over its window). */
  private lastEps: number | undefined

  constructor (private readonly o: AttributionOptions) {}

  /**
   * A sample stamped at t closed the interval since the previous sample with intervalJ joules.
   * t may lie before now (a meter's reading belongs to the middle of its window): segments
   * already cut past t are settled up to t and finish settling with the next sample.
   */
  onSample (t: number, intervalJ: number, reading?: Reading): void {
    if (this.lastSample === undefined || this.cursor === undefined) { this.lastSample = t; this.cursor ??= t; this.lastEps = undefined; return }
    if (t <= this.lastSample) return
    this.cut(t)
    const from = this.lastSample
    this.lastSample = t
    this.measured += intervalJ
    this.settle(from, t, intervalJ, reading)
    const max = this.o.maxRunMs ?? 15 * 60_000
    const now = this.o.clock.now()
    for (const [id, r] of this.running) if (now - r.start > max) this.end(id, this.estimateRate(r.fn) * (now - r.start))
  }

  begin (id: string, fn: string): void {
    if (this.running.has(id)) return
    const t = this.o.clock.now()
    this.cut(t)
    this.running.set(id, { fn, start: t, segs: [], obs: [] })
  }

  end (id: string, cpuMs: number): Share {
    const r = this.running.get(id)
    if (r === undefined) return { energyJ: 0, wallMs: 0 }
    const t = this.o.clock.now()
    this.cut(t)
    this.running.delete(id)
    const wallMs = t - r.start
    const rate = wallMs > 0 ? Math.max(0, cpuMs) / wallMs : 0
    const prev = this.fnRate.get(r.fn)
    this.fnRate.set(r.fn, prev === undefined ? rate : prev + 0.2 * (rate - prev))
    let energyJ = 0
    for (const s of r.segs) energyJ += s.closed ? this.takeClosed(s, id, r.fn, rate) : this.takeOpen(s, id, rate)
    for (const ob of r.obs) this.learn(ob, id, r.fn, rate)
    this.attributed += energyJ
    return { energyJ, wallMs }
  }

  ledger (): Ledger {
    return { measuredJ: this.measured, attributedJ: this.attributed, unattributedIdleJ: this.unattributedIdle, residualJ: this.residual, pendingJ: this.measured - this.attributed - this.unattributedIdle - this.residual }
  }

  /** Closes the current segment at t. Before the first sample there is no measured energy to split. */
  private cut (t: number): void {
    if (this.cursor === undefined || t <= this.cursor) return
    const ids = [...this.running.keys()]
    const fnOf = new Map(ids.map((id) => [id, this.running.get(id)?.fn ?? '']))
    const seg: Seg = { from: this.cursor, to: t, ids, fnOf, remaining: new Set(ids), rates: new Map(), closed: false, energy: 0, idle: 0, idleLeft: 0, dynLeft: 0, takenIdle: 0, takenDyn: 0 }
    for (const id of ids) this.running.get(id)?.segs.push(seg)
    this.open.push(seg)
    this.cursor = t
  }

  private fnOf (seg: Who, id: string): string { return seg.fnOf.get(id) ?? '' }

  private estimateRate (fn: string): number { return this.fnRate.get(fn) ?? 1 }

  private rateOf (seg: Who, id: string): number { return seg.rates.get(id) ?? this.estimateRate(this.fnOf(seg, id)) }

  /** Modelled own power of each participant, and the modelled segment power. */
  private predict (seg: Who): { own: Map<string, number>, idleW: number, dynW: number } {
    const m = this.o.model
    const own = new Map<string, number>()
    let sumOwn = 0
    let sumRate = 0
    for (const id of seg.ids) {
      const rate = this.rateOf(seg, id)
      const w = m.intensity(this.fnOf(seg, id)) * rate
      own.set(id, w)
      sumOwn += w
      sumRate += rate
    }
    const u = sumRate / m.cores
    return { own, idleW: m.idleW(), dynW: seg.ids.length === 0 ? 0 : Math.max(0, sumOwn + m.gammaW() * u * u) }
  }

  /** Spreads the interval's energy over the open segments it overlaps, by modelled power. */
  private settle (from: number, to: number, measuredJ: number, reading: Reading | undefined): void {
    const parts = this.open.map((seg) => {
      const overlap = Math.max(0, Math.min(seg.to, to) - Math.max(seg.from, from))
      return { seg, overlap, pred: this.predict(seg) }
    }).filter((p) => p.overlap > 0)
    const weight = parts.map((p) => (p.pred.idleW + p.pred.dynW) * p.overlap)
    const total = weight.reduce((a, b) => a + b, 0)
    const span = parts.reduce((a, p) => a + p.overlap, 0)
    const energyJ = this.align(from, to, measuredJ, total / 1000, reading)
    this.residual += measuredJ - energyJ
    if (!this.observeReading(to, reading)) this.observe(parts, measuredJ / ((to - from) / 1000), to - from)
    parts.forEach((p, i) => {
      const e = total > 0 ? energyJ * (weight[i] ?? 0) / total : energyJ * p.overlap / Math.max(1e-9, span)
      p.seg.energy += e
      p.seg.idle += Math.min(e, p.pred.idleW * p.overlap / 1000)
    })
    const keep: Seg[] = []
    for (const seg of this.open) { if (seg.to <= to) this.finalize(seg); else keep.push(seg) }
    this.open = keep
  }

  /**
   * The energy of the interval as the model places it in time, corrected by what the meter
   * saw. A reading averages its own window, and the trapezoid between two readings smears a
   * short burst over the neighbouring intervals (and misses what falls between windows); the
   * model knows when each invocation ran, so the interval gets the model's energy plus the
   * trapezoid of the readings' errors against the model over their windows. The difference to
   * the trapezoid of the readings themselves is the model's own smear, which sums to nearly
   * nothing over a run and is kept as residual.
   */
  private align (from: number, to: number, measuredJ: number, modelJ: number, reading: Reading | undefined): number {
    if (reading === undefined || !(reading.windowMs > 0)) { this.lastEps = undefined; return measuredJ }
    const h = reading.windowMs / 2
    const modelled = this.meanW(to - h, to + h)
    const eps = modelled === undefined ? undefined : reading.watts - modelled
    const prev = this.lastEps
    this.lastEps = eps
    if (eps === undefined || prev === undefined) return measuredJ
    const e = modelJ + (prev + eps) / 2 * (to - from) / 1000
    return e > 0 ? e : measuredJ
  }

  /** Modelled mean power over [a, b], from the open segments and the invocations running now. */
  private meanW (a: number, b: number): number | undefined {
    let e = 0
    let span = 0
    const add = (who: Who, from: number, to: number): void => {
      const ov = Math.min(to, b) - Math.max(from, a)
      if (ov <= 0) return
      const p = this.predict(who)
      e += (p.idleW + p.dynW) * ov
      span += ov
    }
    for (const seg of this.open) add(seg, seg.from, seg.to)
    if (this.cursor !== undefined) add(this.now(), this.cursor, Infinity)
    return span > 0 ? e / span : undefined
  }

  /** All of the segment's energy is measured: what ended participants took provisionally is squared. */
  private finalize (s: Seg): void {
    s.closed = true
    if (s.ids.length === 0) { this.unattributedIdle += s.energy; return }
    s.idleLeft = s.idle - s.takenIdle
    s.dynLeft = s.energy - s.idle - s.takenDyn
    if (s.remaining.size === 0 || s.dynLeft < 0) { this.residual += Math.min(0, s.dynLeft); s.dynLeft = Math.max(0, s.dynLeft) }
    if (s.remaining.size === 0 || s.idleLeft < 0) { this.residual += Math.min(0, s.idleLeft); s.idleLeft = Math.max(0, s.idleLeft) }
    if (s.remaining.size === 0) { this.residual += s.dynLeft + s.idleLeft; s.dynLeft = 0; s.idleLeft = 0 }
  }

  private takeClosed (s: Seg, id: string, fn: string, rate: number): number {
    s.rates.set(id, rate)
    const m = this.o.model
    const mine = m.intensity(fn) * rate
    let all = 0
    for (const j of s.remaining) all += j === id ? mine : m.intensity(this.fnOf(s, j)) * this.rateOf(s, j)
    const dyn = s.remaining.size === 1 ? s.dynLeft : all > 0 ? s.dynLeft * mine / all : s.dynLeft / s.remaining.size
    const idle = s.idleLeft / s.remaining.size
    s.dynLeft -= dyn
    s.idleLeft -= idle
    s.remaining.delete(id)
    return dyn + idle
  }

  /** The segment is not measured yet: take the model's estimate, settled at the next sample. */
  private takeOpen (s: Seg, id: string, rate: number): number {
    s.rates.set(id, rate)
    const p = this.predict(s)
    let sumOwn = 0
    for (const w of p.own.values()) sumOwn += w
    const sec = (s.to - s.from) / 1000
    const dyn = sumOwn > 0 ? p.dynW * sec * (p.own.get(id) ?? 0) / sumOwn : p.dynW * sec / s.ids.length
    const idle = p.idleW * sec / s.ids.length
    s.takenDyn += dyn
    s.takenIdle += idle
    s.remaining.delete(id)
    return dyn + idle
  }

  /** Each measured interval becomes a model observation once all its invocations' CPU rates are known. */
  private observe (parts: ReadonlyArray<{ seg: Who, overlap: number }>, watts: number, spanMs: number): boolean {
    if (spanMs <= 0) return false
    const ob: Obs = { watts, overlap: new Map(), dt: spanMs, rates: new Map(), waiting: 0 }
    for (const { seg, overlap } of parts) {
      for (const id of seg.ids) {
        const known = seg.rates.get(id)
        if (known !== undefined) ob.rates.set(id, { fn: this.fnOf(seg, id), rate: known })
        ob.overlap.set(id, (ob.overlap.get(id) ?? 0) + overlap)
      }
    }
    for (const id of ob.overlap.keys()) {
      const r = this.running.get(id)
      if (r !== undefined && !ob.rates.has(id)) { r.obs.push(ob); ob.waiting++ }
    }
    if (ob.waiting === 0) { this.commit(ob); return true }
    if (this.pendingObs >= (this.o.maxPendingObs ?? 5000)) { for (const r of this.running.values()) r.obs.length = 0; this.pendingObs = 0 }
    this.pendingObs++
    return true
  }

  /**
   * A reading is the mean power over its own window, so the observation is the reading against
   * the invocations' overlap with that window (not the trapezoid interval, which smears short
   * invocations into their neighbours and teaches the model that they draw less than they do).
   */
  private observeReading (t: number, reading: Reading | undefined): boolean {
    if (reading === undefined || !(reading.windowMs > 0)) return false
    const a = t - reading.windowMs / 2
    const b = t + reading.windowMs / 2
    const parts: Array<{ seg: Who, overlap: number }> = []
    for (const seg of this.open) parts.push({ seg, overlap: Math.min(seg.to, b) - Math.max(seg.from, a) })
    if (this.cursor !== undefined) parts.push({ seg: this.now(), overlap: b - Math.max(this.cursor, a) })
    const inside = parts.filter((p) => p.overlap > 0)
    const span = inside.reduce((s, p) => s + p.overlap, 0)
    if (span < 0.99 * (b - a)) return false
    return this.observe(inside, reading.watts, span)
  }

  /** Who is running since the last cut. */
  private now (): Who {
    const ids = [...this.running.keys()]
    return { ids, fnOf: new Map(ids.map((id) => [id, this.running.get(id)?.fn ?? ''])), rates: new Map() }
  }

  private learn (ob: Obs, id: string, fn: string, rate: number): void {
    ob.rates.set(id, { fn, rate })
    if (--ob.waiting === 0) { this.pendingObs = Math.max(0, this.pendingObs - 1); this.commit(ob) }
  }

  private commit (ob: Obs): void {
    const rates = new Map<string, number>()
    for (const [id, ms] of ob.overlap) {
      const r = ob.rates.get(id)
      if (r !== undefined) rates.set(r.fn, (rates.get(r.fn) ?? 0) + r.rate * ms / ob.dt)
    }
    this.o.model.observe(ob.watts, rates)
  }
}
