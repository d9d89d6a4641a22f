import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { WispError } from '../shared/errors.js'

/**
 * The Azure Functions 2019 public trace (Shahrad et al., ATC '20):
 * invocations_per_function_md.anon.dNN.csv  HashOwner,HashApp,HashFunction,Trigger,1..1440 (per-minute counts)
 * function_durations_percentiles.anon.dNN.csv  HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,
 *   percentile_Average_0,_1,_25,_50,_75,_99,_100  (ms), joined on the three hashes.
 */
export const INVOCATIONS_PREFIX = 'invocations_per_function_md.anon.'
export const DURATIONS_PREFIX = 'function_durations_percentiles.anon.'
export const DURATION_COLUMNS = ['HashOwner', 'HashApp', 'HashFunction', 'Average', 'Count', 'Minimum', 'Maximum',
  'percentile_Average_0', 'percentile_Average_1', 'percentile_Average_25', 'percentile_Average_50',
  'percentile_Average_75', 'percentile_Average_99', 'percentile_Average_100'] as const
/** Quantile levels of the duration percentile columns. */
export const PCT_LEVELS = [0, 0.01, 0.25, 0.5, 0.75, 0.99, 1] as const

export interface TraceFn {
  /** A wisp function name derived from the hash (1–64 of [a-z0-9-]). */
  readonly name: string
  readonly hash: string
  readonly trigger: string
  /** Invocations per minute over the selected window. */
  readonly counts: Float64Array
  /** Duration percentiles (ms) at PCT_LEVELS. */
  readonly pcts: readonly number[]
  /** Mean of the piecewise-linear duration distribution the simulator samples (ms). */
  readonly meanMs: number
}

export interface Trace { readonly name: string, readonly minutes: number, readonly fns: readonly TraceFn[], readonly skipped: number }

export interface TraceOptions {
  /** Keep the N functions with most invocations in the window (0 = all). */
  readonly top?: number
  /** Minutes [from, to], 1-based and inclusive, as the CSV's columns are numbered. */
  readonly window?: readonly [number, number]
}

const bad = (msg: string): WispError => new WispError('WISP_BAD_CONFIG', msg)

/** The invocations file and its durations file of the same day: F may be either CSV or a folder holding one. */
export const resolveTraceFiles = (path: string): { invocations: string, durations: string } => {
  if (!existsSync(path)) throw bad(`trace: ${path} does not exist`)
  let inv = path
  if (statSync(path).isDirectory()) {
    const f = readdirSync(path).filter((n) => n.startsWith(INVOCATIONS_PREFIX) && n.endsWith('.csv')).sort()[0]
    if (f === undefined) throw bad(`trace: no ${INVOCATIONS_PREFIX}dNN.csv in ${path}`)
    inv = join(path, f)
  }
  const name = basename(inv)
  if (!name.startsWith(INVOCATIONS_PREFIX)) throw bad(`trace: ${name} is not named ${INVOCATIONS_PREFIX}dNN.csv`)
  const durations = join(dirname(inv), DURATIONS_PREFIX + name.slice(INVOCATIONS_PREFIX.length))
  if (!existsSync(durations)) throw bad(`trace: durations file ${basename(durations)} missing beside ${name}`)
  return { invocations: inv, durations }
}

const lines = (file: string): string[] => {
  try { return readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.length > 0) } catch (err) {
    throw bad(`trace: cannot read ${file}: ${(err as Error).message}`)
  }
}

const num = (s: string | undefined, file: string, line: number, col: string): number => {
  const x = Number(s)
  if (s === undefined || s.trim() === '' || !Number.isFinite(x) || x < 0) throw bad(`trace: ${basename(file)} line ${line}: ${col} is not a non-negative number ("${s ?? ''}")`)
  return x
}

/** Mean of the inverse CDF that is linear between the percentile knots. */
export const pctMean = (p: readonly number[]): number => {
  let m = 0
  for (let i = 0; i + 1 < PCT_LEVELS.length; i++) m += (PCT_LEVELS[i + 1]! - PCT_LEVELS[i]!) * ((p[i] ?? 0) + (p[i + 1] ?? 0)) / 2
  return m
}

/** Samples a duration (ms) from the percentile knots, given a uniform u in [0, 1). */
export const sampleDuration = (p: readonly number[], u: number): number => {
  for (let i = 0; i + 1 < PCT_LEVELS.length; i++) {
    const lo = PCT_LEVELS[i]!
    const hi = PCT_LEVELS[i + 1]!
    if (u <= hi) return (p[i] ?? 0) + ((u - lo) / (hi - lo)) * ((p[i + 1] ?? 0) - (p[i] ?? 0))
  }
  return p[p.length - 1] ?? 0
}

/**
 * The invocations of one trace minute, as the simulator draws them from its arrivals stream:
 * function by function, the count × scale rounded at random, then per invocation a uniform
 * arrival inside the minute and a duration from the percentile knots. `emit` gets the function's
 * index, the arrival (ms from the trace start) and the duration at reference speed (ms).
 */
export const drawMinute = (trace: Trace, m: number, scale: number, rng: () => number, emit: (fn: number, t: number, durRef: number) => void): void => {
  const base = m * 60_000
  trace.fns.forEach((f, fn) => {
    const x = (f.counts[m] ?? 0) * scale
    let n = Math.floor(x)
    if (rng() < x - n) n++
    for (let k = 0; k < n; k++) {
      const t = base + rng() * 60_000
      emit(fn, t, Math.max(0.01, sampleDuration(f.pcts, rng())))
    }
  })
}

export const fnName = (hash: string): string => 'f-' + (hash.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 16) || 'x')

/** Parses and joins a day of the trace; malformed rows are WISP_BAD_CONFIG naming file and line. Functions without durations are skipped (as in the public trace). */
export const parseTrace = (path: string, opts: TraceOptions = {}): Trace => {
  const { invocations, durations } = resolveTraceFiles(path)
  const dl = lines(durations)
  const dh = (dl[0] ?? '').split(',')
  if (DURATION_COLUMNS.some((c, i) => dh[i] !== c)) throw bad(`trace: ${basename(durations)} header must be ${DURATION_COLUMNS.join(',')}`)
  const dur = new Map<string, number[]>()
  for (let i = 1; i < dl.length; i++) {
    const c = dl[i]!.split(',')
    if (c.length !== DURATION_COLUMNS.length) throw bad(`trace: ${basename(durations)} line ${i + 1}: ${c.length} columns, expected ${DURATION_COLUMNS.length}`)
    const p = c.slice(7).map((s, k) => num(s, durations, i + 1, DURATION_COLUMNS[7 + k]!))
    for (let k = 1; k < p.length; k++) if (p[k]! < p[k - 1]!) throw bad(`trace: ${basename(durations)} line ${i + 1}: percentiles must not decrease`)
    dur.set(`${c[0]},${c[1]},${c[2]}`, p)
  }
  const il = lines(invocations)
  const ih = (il[0] ?? '').split(',')
  const minutes = ih.length - 4
  if (ih[0] !== 'HashOwner' || ih[1] !== 'HashApp' || ih[2] !== 'HashFunction' || ih[3] !== 'Trigger' || minutes < 1 || ih[4] !== '1') {
    throw bad(`trace: ${basename(invocations)} header must be HashOwner,HashApp,HashFunction,Trigger,1,2,...`)
  }
  const [from, to] = opts.window ?? [1, minutes]
  if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 1 && to <= minutes && from <= to)) throw bad(`trace: window ${from}-${to} outside minutes 1-${minutes}`)
  const fns: Array<TraceFn & { total: number }> = []
  let skipped = 0
  for (let i = 1; i < il.length; i++) {
    const c = il[i]!.split(',')
    if (c.length !== minutes + 4) throw bad(`trace: ${basename(invocations)} line ${i + 1}: ${c.length} columns, expected ${minutes + 4}`)
    const counts = new Float64Array(to - from + 1)
    let total = 0
    for (let m = from; m <= to; m++) { const x = num(c[m + 3], invocations, i + 1, `minute ${m}`); counts[m - from] = x; total += x }
    const p = dur.get(`${c[0]},${c[1]},${c[2]}`)
    if (p === undefined) { skipped++; continue }
    fns.push({ name: fnName(c[2]!), hash: c[2]!, trigger: c[3]!, counts, pcts: p, meanMs: pctMean(p), total })
  }
  fns.sort((a, b) => b.total - a.total || (a.hash < b.hash ? -1 : 1))
  const kept = opts.top !== undefined && opts.top > 0 ? fns.slice(0, opts.top) : fns
  return { name: basename(invocations), minutes: to - from + 1, fns: kept.map(({ total: _t, ...f }) => f), skipped }
}

/** Reference-speed work in the trace (core-seconds). */
export const traceWork = (t: Trace): number => t.fns.reduce((s, f) => s + f.counts.reduce((a, b) => a + b, 0) * f.meanMs / 1000, 0)

/** Minutes in the window that defines a trace's peak load (the busiest 10 minutes, as an operator sizes a cluster). */
export const PEAK_WINDOW_MIN = 10

/**
 * The busiest `windowMin` minutes of the trace: where they start (0-based minute) and the work
 * they offer (reference core-seconds: Σ invocations × mean duration).
 */
export const peakWindow = (t: Trace, windowMin = PEAK_WINDOW_MIN): { start: number, work: number } => {
  const perMin = new Float64Array(t.minutes)
  for (const f of t.fns) for (let m = 0; m < t.minutes; m++) perMin[m] = (perMin[m] ?? 0) + (f.counts[m] ?? 0) * f.meanMs / 1000
  const w = Math.min(windowMin, t.minutes)
  let sum = 0
  for (let m = 0; m < w; m++) sum += perMin[m] ?? 0
  let best = { start: 0, work: sum }
  for (let m = w; m < t.minutes; m++) {
    sum += (perMin[m] ?? 0) - (perMin[m - w] ?? 0)
    if (sum > best.work) best = { start: m - w + 1, work: sum }
  }
  return best
}
