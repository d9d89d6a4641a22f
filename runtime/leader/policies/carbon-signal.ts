import { WispError } from '../../shared/errors.js'

/**
 * Grid carbon intensity (gCO2/kWh) over time: a step function of points sorted by time, each
 * holding from its `at` until the next point (before the first point, the first holds). A constant
 * is one point. Pure: the leader and the simulator read the same signal the same way.
 */
export interface CarbonPoint { readonly at: number, readonly g: number }
export interface CarbonSignal { readonly points: readonly CarbonPoint[] }

export const MAX_INTENSITY = 5000

const checkG = (g: number, where: string): number => {
  if (!Number.isFinite(g) || g < 0 || g > MAX_INTENSITY) throw new WispError('WISP_BAD_CONFIG', `${where}: carbon intensity must be a number of gCO2/kWh within 0..${MAX_INTENSITY} (got ${String(g)})`)
  return g
}

export const constantSignal = (g: number): CarbonSignal => ({ points: [{ at: -Infinity, g: checkG(g, 'constant carbon intensity') }] })

/** A series from points in any order (validated, sorted; a repeated time keeps the last value given). */
export const seriesSignal = (points: readonly CarbonPoint[]): CarbonSignal => {
  if (points.length === 0) throw new WispError('WISP_BAD_CONFIG', 'a carbon series needs at least one point')
  const byAt = new Map<number, number>()
  for (const p of points) {
    if (!Number.isFinite(p.at)) throw new WispError('WISP_BAD_CONFIG', `carbon series: bad timestamp ${String(p.at)}`)
    byAt.set(p.at, checkG(p.g, `carbon series at ${p.at}`))
  }
  return { points: [...byAt].sort((a, b) => a[0] - b[0]).map(([at, g]) => ({ at, g })) }
}

/** Index of the point holding at `t` (the last with at ≤ t; 0 before the first). */
const indexAt = (s: CarbonSignal, t: number): number => {
  let lo = 0
  let hi = s.points.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if ((s.points[mid]?.at ?? Infinity) <= t) lo = mid; else hi = mid - 1
  }
  return lo
}

export const intensityAt = (s: CarbonSignal, t: number): number => s.points[indexAt(s, t)]?.g ?? 0

/**
 * The windows of constant intensity that overlap [from, to]: each `{ start, end, g }` clipped to
 * the interval, in time order (the forecast a deferral reads).
 */
export const windows = (s: CarbonSignal, from: number, to: number): Array<{ start: number, end: number, g: number }> => {
  const out: Array<{ start: number, end: number, g: number }> = []
  if (!(to >= from)) return out
  for (let i = indexAt(s, from); i < s.points.length; i++) {
    const p = s.points[i]!
    const start = Math.max(from, p.at)
    if (start > to) break
    const end = Math.min(to, s.points[i + 1]?.at ?? Infinity)
    if (end > start || (end === start && out.length === 0)) out.push({ start, end, g: p.g })
  }
  return out
}

/** Mean intensity over [from, to] (the energy of a run spread evenly over it). */
export const meanIntensity = (s: CarbonSignal, from: number, to: number): number => {
  if (!(to > from)) return intensityAt(s, from)
  let sum = 0
  for (const w of windows(s, from, to)) sum += w.g * (w.end - w.start)
  return sum / (to - from)
}

/**
 * Parses a CSV time series `timestamp,gCO2/kWh` (a header line is allowed; timestamps as ISO
 * 8601 or ms since the epoch). Bad rows are a WISP_BAD_CONFIG naming the line.
 */
export const parseCarbonCsv = (text: string, what = 'carbon CSV'): CarbonSignal => {
  const points: CarbonPoint[] = []
  text.split(/\r?\n/).forEach((line, i) => {
    const l = line.trim()
    if (l === '' || l.startsWith('#')) return
    const [ts, g, extra] = l.split(',').map((c) => c.trim())
    if (i === 0 && g !== undefined && !Number.isFinite(Number(g))) return // header
    if (ts === undefined || g === undefined || extra !== undefined || ts === '' || g === '') throw new WispError('WISP_BAD_CONFIG', `${what} line ${i + 1}: expected "timestamp,gCO2/kWh"`)
    const at = /^-?\d+(\.\d+)?$/.test(ts) ? Number(ts) : Date.parse(ts)
    if (!Number.isFinite(at)) throw new WispError('WISP_BAD_CONFIG', `${what} line ${i + 1}: bad timestamp "${ts}"`)
    const gv = Number(g)
    if (!Number.isFinite(gv)) throw new WispError('WISP_BAD_CONFIG', `${what} line ${i + 1}: bad intensity "${g}"`)
    points.push({ at, g: checkG(gv, `${what} line ${i + 1}`) })
  })
  return seriesSignal(points)
}
