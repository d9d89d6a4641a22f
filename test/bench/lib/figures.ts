import { writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, runMeta, type RunMeta } from './meta.js'

/**
 * One benchmark figure. `met` is true/false only for a figure with a goal it is judged
 * against; informational figures (no goal) carry `met: null` and goal 'informational'.
 * `failures` counts the operations the figure's run lost or saw fail, where it has any.
 */
export interface Figure {
  figure: string, value: number, unit: string, baseline: string | null
  baseline_value: number | null, ratio: number | null, goal: string, met: boolean | null
  failures?: number
  /** When the value is the median of repeated runs: how many, and the smallest and largest. */
  runs?: { n: number, min: number, max: number }
}

export type FigureInput = Omit<Figure, 'ratio' | 'met'> & { met: boolean | null }

export const figure = (f: FigureInput): Figure => {
  if (f.goal === INFO && f.met !== null) throw new Error(`${f.figure}: an informational figure has no goal to meet`)
  if (f.goal !== INFO && f.met === null) throw new Error(`${f.figure}: a figure with a goal must say whether it is met`)
  return {
    ...f,
    value: round(f.value),
    baseline_value: f.baseline_value === null ? null : round(f.baseline_value),
    ratio: f.baseline_value === null || f.baseline_value === 0 ? null : round(f.value / f.baseline_value, 4)
  }
}
/** The goal of a figure that is reported, not judged. */
export const INFO = 'informational'
/** An informational figure: no goal, `met: null`. */
export const info = (f: Omit<FigureInput, 'goal' | 'met'>): Figure => figure({ ...f, goal: INFO, met: null })

const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d

export interface Result extends RunMeta { name: string, figures: Figure[], [extra: string]: unknown }

/**
 * Writes bench/results/<name>.json: the figures, the run's provenance (git sha, dirty flag,
 * command, date, node, cpus, digest of the measured sources) and any extra fields.
 * `name` must be a key of SOURCES (lib/sources.ts). Returns the document written.
 */
export const writeResult = (name: string, figures: Figure[], extra: Record<string, unknown> = {}, file = name): Result => {
  const doc: Result = { name, ...runMeta(name), figures, ...extra }
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true })
  writeFileSync(join(ROOT, 'bench/results', `${file}.json`), JSON.stringify(doc, null, 2) + '\n')
  return doc
}

/** Prints a table and writes bench/results/<name>.json in the shared figures format. */
export const report = (name: string, figures: Figure[], extra: Record<string, unknown> = {}, file = name): Result => {
  console.table(figures.map((f) => ({ figure: f.figure, value: f.value, unit: f.unit, baseline: f.baseline, ratio: f.ratio, goal: f.goal, met: f.met, ...(f.failures === undefined ? {} : { failures: f.failures }) })))
  return writeResult(name, figures, extra, file)
}

export const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? NaN }
/** The median of repeated runs with their count and range, for a figure's `value` and `runs`. */
export const spread = (xs: number[]): { value: number, runs: { n: number, min: number, max: number } } =>
  ({ value: median(xs), runs: { n: xs.length, min: round(Math.min(...xs)), max: round(Math.max(...xs)) } })
/** The p-quantile (0..1) of xs, nearest rank. */
export const quantile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? NaN
}
