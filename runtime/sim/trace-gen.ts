import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { seededRng, type Rng } from '../shared/rng.js'
import { DURATION_COLUMNS, DURATIONS_PREFIX, INVOCATIONS_PREFIX } from './trace.js'

export interface GenOptions {
  readonly functions: number
  readonly minutes: number
  readonly seed: number
  /** Day number in the file names (dNN). */
  readonly day: number
  /** Mean invocations per minute, all functions together. */
  readonly perMinute: number
  /** Zipf exponent of popularity. */
  readonly zipf: number
  /**
   * Draw the day's shape from the seed too (a different day, not a redraw of one): function count
   * 120–320, Zipf 0.8–1.4, the day's typical median duration 60–400 ms, diurnal amplitude
   * 30–80 % with the peak anywhere from 11:00 to 21:00, 0.5–3 bursts per function a day.
   */
  readonly vary: boolean
}

export const GEN_DEFAULTS: GenOptions = { functions: 200, minutes: 1440, seed: 1, day: 1, perMinute: 2000, zipf: 1.1, vary: false }

/** The shape of one day: fixed (the defaults) or drawn from the seed (`vary`). */
interface DayShape { functions: number, zipf: number, medianMs: number, amplitude: number, peakMin: number, burstsPerDay: number }

const dayShape = (o: GenOptions, rng: Rng): DayShape => o.vary
  ? { functions: 120 + Math.floor(rng() * 201), zipf: 0.8 + 0.6 * rng(), medianMs: Math.exp(Math.log(60) + rng() * Math.log(400 / 60)), amplitude: 0.3 + 0.5 * rng(), peakMin: 660 + rng() * 600, burstsPerDay: 0.5 + 2.5 * rng() }
  : { functions: o.functions, zipf: o.zipf, medianMs: 150, amplitude: 0.6, peakMin: 960, burstsPerDay: 1.5 }

const normal = (rng: Rng): number => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng())
const poisson = (rng: Rng, mean: number): number => {
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal(rng)))
  const l = Math.exp(-mean)
  let k = 0
  for (let p = rng(); p > l; p *= rng()) k++
  return k
}
const hex = (rng: Rng): string => Array.from({ length: 64 }, () => Math.floor(rng() * 16).toString(16)).join('')
const Z = [-3, -2.326, -0.674, 0, 0.674, 2.326, 3.5]

/**
 * A synthetic day in exactly the Azure 2019 format: Zipf-like popularity, a diurnal cycle (peak
 * mid-afternoon, trough near 04:00, ±60 %), random bursts (2–5× for 2–10 minutes, 1.5 a day per function, not compounding), a fifth of
 * the functions timer-triggered (fixed period), and log-normal durations per function (median
 * log-normal around 150 ms, σ 0.3–1.0). Returns the invocations file's path.
 */
export const generateTrace = (dir: string, opts: Partial<GenOptions> = {}): string => {
  const o = { ...GEN_DEFAULTS, ...opts }
  const rng = seededRng(o.seed)
  const shape = dayShape(o, rng)
  const day = String(o.day).padStart(2, '0')
  const weights = Array.from({ length: shape.functions }, (_, i) => 1 / Math.pow(i + 1, shape.zipf))
  const wsum = weights.reduce((a, b) => a + b, 0)
  const inv = ['HashOwner,HashApp,HashFunction,Trigger,' + Array.from({ length: o.minutes }, (_, i) => i + 1).join(',')]
  const dur = [DURATION_COLUMNS.join(',')]
  for (let f = 0; f < shape.functions; f++) {
    const owner = hex(rng)
    const app = hex(rng)
    const fnh = hex(rng)
    const timer = rng() < 0.2
    const mean = o.perMinute * (weights[f] ?? 0) / wsum
    const phase = (rng() - 0.5) * 120
    const bursts: Array<[number, number, number]> = []
    for (let k = poisson(rng, shape.burstsPerDay * o.minutes / 1440); k > 0; k--) bursts.push([Math.floor(rng() * o.minutes), 2 + Math.floor(rng() * 9), 2 + rng() * 3])
    const period = Math.max(1, Math.round(1 / Math.max(mean, 1 / 60)))
    const per = Math.max(1, Math.round(mean * period))
    const offset = Math.floor(rng() * period)
    const counts: number[] = []
    let total = 0
    for (let m = 0; m < o.minutes; m++) {
      let c: number
      if (timer) c = (m + offset) % period === 0 ? per : 0
      else {
        let rate = mean * (1 + shape.amplitude * Math.sin(2 * Math.PI * (m - shape.peakMin + 360 + phase) / 1440))
        let burst = 1
        for (const [at, len, x] of bursts) if (m >= at && m < at + len) burst = Math.max(burst, x)
        rate *= burst
        c = poisson(rng, rate)
      }
      counts.push(c)
      total += c
    }
    inv.push(`${owner},${app},${fnh},${timer ? 'timer' : rng() < 0.7 ? 'http' : 'queue'},${counts.join(',')}`)
    const median = Math.min(20_000, Math.max(5, Math.exp(Math.log(shape.medianMs) + normal(rng))))
    const sigma = 0.3 + 0.7 * rng()
    const p = Z.map((z) => Math.max(1, Math.round(median * Math.exp(sigma * z))))
    const avg = Math.round(median * Math.exp(sigma * sigma / 2))
    dur.push(`${owner},${app},${fnh},${avg},${total},${p[0]},${p[6]},${p.join(',')}`)
  }
  mkdirSync(dir, { recursive: true })
  const invFile = join(dir, `${INVOCATIONS_PREFIX}d${day}.csv`)
  writeFileSync(invFile, inv.join('\n') + '\n')
  writeFileSync(join(dir, `${DURATIONS_PREFIX}d${day}.csv`), dur.join('\n') + '\n')
  return invFile
}
