import { existsSync, readFileSync } from 'node:fs'
import type { BoardProfile } from '../../boards/schema.js'
import { getProfile, loadProfiles } from '../../boards/index.js'
import { WispError } from '../shared/errors.js'
import { ALL_SETS, createPolicySet } from '../leader/policies/policy-sets.js'
import type { Decision } from '../leader/policies/types.js'
import { simulate, SIM_DEFAULTS } from './simulator.js'
import { peakWindow, PEAK_WINDOW_MIN, traceWork, type Trace } from './trace.js'
import { meanFigures, type PolicyFigures, type SimReport } from './report.js'

/** The default heterogeneous cluster: 8 boards of four kinds. */
export const DEFAULT_BOARDS = 'raspberry-pi-4b:2,orange-pi-zero3:2,raspberry-pi-zero-2w:2,banana-pi-m2-zero:2'

/** `profile:count,...` → one profile per board. */
export const parseBoardSpec = (spec: string, profiles = loadProfiles()): BoardProfile[] => {
  const out: BoardProfile[] = []
  for (const part of spec.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    const [name, n = '1'] = part.split(':')
    const count = Number(n)
    if (!Number.isInteger(count) || count < 1 || count > 10_000) throw new WispError('WISP_BAD_CONFIG', `--boards: "${part}" needs profile:count with a count of 1-10000`)
    const p = getProfile(name ?? '', profiles)
    for (let i = 0; i < count; i++) out.push(p)
  }
  if (out.length === 0) throw new WispError('WISP_BAD_CONFIG', '--boards: no boards given')
  return out
}

/** Powered capacity in reference cores (speed × cores). */
export const capacity = (boards: readonly BoardProfile[]): number => boards.reduce((s, b) => s + b.speed * b.cores, 0)

/** The rate scale at which the trace offers `u` of the cluster's capacity on average. */
export const scaleForUtilisation = (trace: Trace, boards: readonly BoardProfile[], u: number): number =>
  u * capacity(boards) * trace.minutes * 60 / Math.max(1e-9, traceWork(trace))

/**
 * The rate scale at which the trace's busiest 10 minutes offer `u` of the cluster's capacity (peak
 * utilisation: the load an operator sizes a cluster for; the day's mean is far lower).
 */
export const scaleForPeakUtilisation = (trace: Trace, boards: readonly BoardProfile[], u: number): number =>
  u * capacity(boards) * Math.min(PEAK_WINDOW_MIN, trace.minutes) * 60 / Math.max(1e-9, peakWindow(trace).work)

/** Offered peak utilisation of the trace at a rate scale. */
export const peakUtilisation = (trace: Trace, boards: readonly BoardProfile[], scale: number): number =>
  peakWindow(trace).work * scale / (capacity(boards) * Math.min(PEAK_WINDOW_MIN, trace.minutes) * 60)

/**
 * The cold-start figure (ms at reference speed): the runtime benchmark's measured median when
 * bench/results/cold-start.json holds one, else the default (5 ms isolate + 15 ms compile).
 */
export const coldStartMs = (file = 'bench/results/cold-start.json'): { ms: number, source: string } => {
  if (existsSync(file)) {
    try {
      const r = JSON.parse(readFileSync(file, 'utf8')) as { figures?: Array<{ figure?: string, value?: number, unit?: string }> }
      const f = r.figures?.find((x) => /cold/i.test(x.figure ?? '') && x.unit === 'ms' && typeof x.value === 'number' && x.value > 0)
      if (f?.value !== undefined) return { ms: f.value, source: `${file}: ${f.figure ?? ''}` }
    } catch { /* fall through to the default */ }
  }
  return { ms: SIM_DEFAULTS.coldMs, source: 'default: 5 ms isolate + 15 ms compile' }
}

export interface RunOptions {
  readonly trace: Trace
  readonly boards: readonly BoardProfile[]
  readonly sets: readonly string[]
  readonly seeds: readonly number[]
  readonly scale: number
  readonly coldMs?: number
  readonly onDecision?: (set: string, d: Decision) => void
  readonly onProgress?: (done: number) => void
}

export const expandSets = (policy: string): string[] => (policy === 'all' ? [...ALL_SETS] : policy.split(',').map((s) => s.trim()))

/** Every set × seed; the report holds each set's mean over seeds. */
export const runSimulation = (o: RunOptions): { report: SimReport, runs: Record<string, PolicyFigures[]> } => {
  for (const s of o.sets) createPolicySet(s)
  const runs: Record<string, PolicyFigures[]> = {}
  const coldMs = o.coldMs ?? SIM_DEFAULTS.coldMs
  const total = o.sets.length * o.seeds.length
  let k = 0
  for (const set of o.sets) {
    runs[set] = o.seeds.map((seed) => {
      const r = simulate({
        ...SIM_DEFAULTS,
        trace: o.trace, boards: o.boards, policies: createPolicySet(set), seed, scale: o.scale,
        coldMs,
        onDecision: o.onDecision === undefined ? undefined : (d) => o.onDecision?.(set, d),
        onProgress: o.onProgress === undefined ? undefined : (f) => o.onProgress?.((k + f) / total)
      })
      k++
      return r
    })
  }
  const policies: Record<string, PolicyFigures> = {}
  for (const [s, r] of Object.entries(runs)) policies[s] = meanFigures(r)
  const utilisation = traceWork(o.trace) * o.scale / (capacity(o.boards) * o.trace.minutes * 60)
  const peak = peakUtilisation(o.trace, o.boards, o.scale)
  return { report: { trace: o.trace.name, seeds: [...o.seeds], boards: o.boards.map((b, i) => `b${i + 1}:${b.name}`), utilisation, peak_utilisation: peak, scale: o.scale, cold_ms: coldMs, policies }, runs }
}
