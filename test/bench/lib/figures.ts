import { writeFileSync, mkdirSync } from 'node:fs'
import { cpus } from 'node:os'

export interface Figure {
  figure: string, value: number, unit: string, baseline: string | null
  baseline_value: number | null, ratio: number | null, goal: string, met: boolean
}

export const figure = (f: Omit<Figure, 'ratio'>): Figure => ({
  ...f,
  value: round(f.value),
  baseline_value: f.baseline_value === null ? null : round(f.baseline_value),
  ratio: f.baseline_value === null || f.baseline_value === 0 ? null : round(f.value / f.baseline_value, 4)
})
const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d

/** Prints a table and writes bench/results/<name>.json in the shared figures format. */
export const report = (name: string, figures: Figure[]): void => {
  console.table(figures.map((f) => ({ figure: f.figure, value: f.value, unit: f.unit, baseline: f.baseline, ratio: f.ratio, goal: f.goal, met: f.met })))
  mkdirSync('bench/results', { recursive: true })
  writeFileSync(`bench/results/${name}.json`, JSON.stringify({ name, date: new Date().toISOString(), node: process.version, cpus: cpus().length, figures }, null, 2) + '\n')
}

export const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? NaN }
