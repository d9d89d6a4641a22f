/**
 * What the meter teaches about the board: power = idle + Σ_f β_f·x_f + γ·U², where x_f is
 * the CPU rate (cores busy) of function f's invocations, U = Σx / cores the utilisation. β_f is
 * the function's own power intensity (a CPU-bound loop draws more per core than a
 * memory-bound one); γ the non-linear excess (clock and voltage scaling). Fitted by ridge
 * least squares on measured intervals, pulled toward the profile's figures while data is thin.
 */
export interface ModelSnapshot {
  readonly idleW: number
  readonly gammaW: number
  readonly intensityW: Readonly<Record<string, number>>
  readonly observations: number
}

export class PowerModel {
  private readonly fns = new Map<string, number>()
  private ata: number[][] = []
  private atb: number[] = []
  private theta: number[]
  private dirty = false
  private n = 0

  constructor (
    private readonly prior: { readonly idleW: number, readonly perCoreW: number, readonly cores: number },
    /** How many observations the prior is worth. */
    private readonly priorWeight = 20
  ) {
    this.theta = [prior.idleW, 0]
    this.grow(2)
  }

  private grow (size: number): void {
    while (this.atb.length < size) {
      for (const row of this.ata) row.push(0)
      this.ata.push(new Array<number>(this.atb.length + 1).fill(0))
      this.atb.push(0)
    }
  }

  /** Parameter layout: [idle, γ, β_fn1, β_fn2, …]. */
  private index (fn: string): number {
    let i = this.fns.get(fn)
    if (i === undefined) {
      i = 2 + this.fns.size
      this.fns.set(fn, i)
      this.grow(i + 1)
      this.theta[i] = this.prior.perCoreW
    }
    return i
  }

  /**
   * The prior's pull on parameter i. U² is small (0.1 at a third of the cores), so a prior on γ
   * worth as many observations as the others would hold γ near zero and push the excess into
   * the β's, flattening them toward each other; γ's prior is scaled to U²'s range.
   */
  private ridge (i: number): number { return i === 1 ? this.priorWeight * 0.01 : this.priorWeight }

  private priorOf (i: number): number { return i === 0 ? this.prior.idleW : i === 1 ? 0 : this.prior.perCoreW }

  /** One interval: its mean power and the CPU rate of each function during it. */
  observe (watts: number, rates: ReadonlyMap<string, number>): void {
    const x = new Map<number, number>([[0, 1]])
    let total = 0
    for (const [fn, r] of rates) { x.set(this.index(fn), (x.get(this.index(fn)) ?? 0) + r); total += r }
    const u = total / this.prior.cores
    x.set(1, u * u)
    for (const [i, xi] of x) {
      this.atb[i] = (this.atb[i] ?? 0) + xi * watts
      const row = this.ata[i] ?? []
      for (const [j, xj] of x) row[j] = (row[j] ?? 0) + xi * xj
    }
    this.n++
    this.dirty = true
  }

  private solve (): void {
    if (!this.dirty) return
    this.dirty = false
    const m = this.atb.length
    const a = this.ata.map((row, i) => row.map((v, j) => v + (i === j ? this.ridge(i) : 0)))
    const b = this.atb.map((v, i) => v + this.ridge(i) * this.priorOf(i))
    const sol = gauss(a, b)
    if (sol === undefined) return
    for (let i = 0; i < m; i++) this.theta[i] = sol[i] ?? this.priorOf(i)
  }

  idleW (): number { this.solve(); return Math.max(0, this.theta[0] ?? this.prior.idleW) }
  gammaW (): number { this.solve(); return this.theta[1] ?? 0 }
  /** β_f in W per busy core; kept positive so that shares stay shares. */
  intensity (fn: string): number {
    this.solve()
    const i = this.fns.get(fn)
    return Math.max(this.prior.perCoreW * 0.02, i === undefined ? this.prior.perCoreW : this.theta[i] ?? this.prior.perCoreW)
  }

  get cores (): number { return this.prior.cores }

  snapshot (): ModelSnapshot {
    return { idleW: this.idleW(), gammaW: this.gammaW(), intensityW: Object.fromEntries([...this.fns.keys()].map((f) => [f, this.intensity(f)])), observations: this.n }
  }
}

/** Gaussian elimination with partial pivoting; undefined when singular. */
const gauss = (a: number[][], b: number[]): number[] | undefined => {
  const n = b.length
  for (let c = 0; c < n; c++) {
    let p = c
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r]?.[c] ?? 0) > Math.abs(a[p]?.[c] ?? 0)) p = r
    const pivot = a[p]?.[c] ?? 0
    if (Math.abs(pivot) < 1e-12) return undefined
    ;[a[c], a[p]] = [a[p] ?? [], a[c] ?? []]
    ;[b[c], b[p]] = [b[p] ?? 0, b[c] ?? 0]
    const rc = a[c] ?? []
    for (let r = c + 1; r < n; r++) {
      const rr = a[r] ?? []
      const f = (rr[c] ?? 0) / pivot
      if (f === 0) continue
      for (let k = c; k < n; k++) rr[k] = (rr[k] ?? 0) - f * (rc[k] ?? 0)
      b[r] = (b[r] ?? 0) - f * (b[c] ?? 0)
    }
  }
  const x = new Array<number>(n).fill(0)
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r] ?? 0
    for (let k = r + 1; k < n; k++) s -= (a[r]?.[k] ?? 0) * (x[k] ?? 0)
    x[r] = s / (a[r]?.[r] ?? 1)
  }
  return x
}
