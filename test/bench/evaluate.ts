/**
 * The control-plane evaluation: the same synthetic day (200 functions, 24 h) on 8 heterogeneous
 * boards, the rate scaled so the offered load is 50 % and 80 % of the cluster's capacity, several
 * seeds each; wisp (Mu balance + proactive scale + fair placement + gating) against the baseline
 * (Knative: round-robin + KPA + Kubernetes spread, no gating). Runs one child process per
 * simulation, as many at once as there are CPUs (the 100-board speed run last, alone). Writes
 * bench/results/evaluation.{json,svg}.
 * Options: --seeds N (default 5), --hours H (default 24), --sets a,b (default wisp,baseline,baseline-ratio).
 */
import { execFileSync, spawn } from 'node:child_process'
import { cpus, tmpdir } from 'node:os'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateTrace } from '../../runtime/sim/trace-gen.js'
import { parseTrace } from '../../runtime/sim/trace.js'
import { DEFAULT_BOARDS, coldStartMs, parseBoardSpec, scaleForUtilisation } from '../../runtime/sim/run.js'
import { simulate, SIM_DEFAULTS } from '../../runtime/sim/simulator.js'
import { createPolicySet } from '../../runtime/leader/policies/policy-sets.js'
import { KPA_DEFAULTS } from '../../runtime/leader/policies/scale-knative-kpa.js'
import { PROACTIVE_DEFAULTS } from '../../runtime/leader/policies/scale-proactive.js'
import { POWER_GATE_DEFAULTS } from '../../runtime/leader/policies/power-gate.js'
import type { PolicyFigures } from '../../runtime/sim/report.js'
import { chart } from './evaluation-chart.js'

const arg = (name: string, dflt: string): string => { const i = process.argv.indexOf(name); return i < 0 ? dflt : process.argv[i + 1] ?? dflt }
const TRACE_DIR = join(tmpdir(), 'wisp-evaluation-trace')
const hours = Number(arg('--hours', '24'))
const boardsSpec = arg('--boards', DEFAULT_BOARDS)

const load = () => {
  const trace = parseTrace(TRACE_DIR, { window: [1, Math.round(hours * 60)] })
  const boards = parseBoardSpec(boardsSpec)
  return { trace, boards }
}

if (process.argv.includes('--one')) {
  // Child: one simulation, figures as JSON on stdout.
  const [u, seed, set] = [Number(arg('--util', '0.5')), Number(arg('--seed', '1')), arg('--set', 'wisp')]
  const { trace, boards } = load()
  const scale = scaleForUtilisation(trace, parseBoardSpec(DEFAULT_BOARDS), u)
  const t0 = performance.now()
  const f = simulate({ ...SIM_DEFAULTS, trace, boards, policies: createPolicySet(set), seed, scale, coldMs: coldStartMs().ms })
  process.stdout.write(JSON.stringify({ ...f, seconds: (performance.now() - t0) / 1000 }))
} else {
  const seeds = Number(arg('--seeds', '5'))
  // baseline-ratio (an ablation): the baseline's control plane on boards with wisp's run queue.
  const sets = arg('--sets', 'wisp,baseline,baseline-ratio').split(',')
  const utils = [0.5, 0.8]
  generateTrace(TRACE_DIR, { functions: 200, minutes: 1440, seed: 2019, day: 1 })
  const jobs: Array<{ u: number, seed: number, set: string, boards?: string }> = []
  for (const u of utils) for (const set of sets) for (let s = 1; s <= seeds; s++) jobs.push({ u, seed: s, set })
  // Simulator speed: the day on 100 boards at the 8-board 50 % rate.
  jobs.push({ u: 0.5, seed: 1, set: 'wisp', boards: 'raspberry-pi-4b:25,orange-pi-zero3:25,raspberry-pi-zero-2w:25,banana-pi-m2-zero:25' })
  const results = new Map<string, PolicyFigures & { seconds: number }>()
  const key = (j: { u: number, seed: number, set: string, boards?: string }): string => `${j.u}/${j.set}/${j.seed}/${j.boards ?? ''}`
  const runOne = (j: typeof jobs[number]): Promise<void> => new Promise((resolve, reject) => {
    const a = ['--no-node-snapshot', '--import', 'tsx', process.argv[1]!, '--one', '--util', String(j.u), '--seed', String(j.seed), '--set', j.set, '--hours', String(hours), '--boards', j.boards ?? boardsSpec]
    const c = spawn(process.execPath, a, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    c.stdout.on('data', (b: Buffer) => { out += b.toString() })
    c.on('close', (code) => {
      if (code !== 0) { reject(new Error(`simulation ${key(j)} failed (${code})`)); return }
      results.set(key(j), JSON.parse(out) as PolicyFigures & { seconds: number })
      process.stderr.write(`done ${key(j)} in ${results.get(key(j))?.seconds.toFixed(1)} s\n`)
      resolve()
    })
  })
  // The speed run goes last and alone, so its time measures the simulator, not the other runs sharing the CPUs.
  const queue = jobs.slice(0, -1)
  await Promise.all(Array.from({ length: Math.max(1, cpus().length) }, async () => { for (let j = queue.shift(); j !== undefined; j = queue.shift()) await runOne(j) }))
  await runOne(jobs[jobs.length - 1]!)

  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
  const sd = (xs: number[]): number => { const m = mean(xs); return Math.sqrt(mean(xs.map((x) => (x - m) ** 2))) }
  const figures: Array<Record<string, unknown>> = []
  const summary: Record<string, Record<string, { mean: Record<string, number>, sd: Record<string, number> }>> = {}
  for (const u of utils) {
    const per = (set: string): Array<PolicyFigures & { seconds: number }> => Array.from({ length: seeds }, (_, i) => results.get(`${u}/${set}/${i + 1}/`)!)
    summary[String(u)] = {}
    for (const set of sets) {
      const runs = per(set)
      const ks = Object.keys(runs[0]!) as Array<keyof PolicyFigures>
      summary[String(u)]![set] = { mean: Object.fromEntries(ks.map((k) => [k, mean(runs.map((r) => r[k]))])), sd: Object.fromEntries(ks.map((k) => [k, sd(runs.map((r) => r[k]))])) }
    }
    const w = summary[String(u)]!.wisp!.mean
    const b = summary[String(u)]!.baseline!.mean
    const pct = `${u * 100} %`
    const fig = (figure: string, value: number, unit: string, baseline: string | null, bv: number | null, goal: string, met: boolean): void => {
      figures.push({ figure, value, unit, baseline, baseline_value: bv, ratio: bv === null || bv === 0 ? null : value / bv, goal, met })
    }
    fig(`p99 latency at ${pct}`, w.p99_ms!, 'ms', 'knative', b.p99_ms!, '<= 0.38', w.p99_ms! / b.p99_ms! <= 0.38)
    fig(`Jain fairness of per-function slowdown at ${pct}`, w.jain!, 'index', 'knative', b.jain!, '>= 2', w.jain! / b.jain! >= 2)
    fig(`idle-board energy at ${pct}`, w.idle_energy_j!, 'J', 'knative', b.idle_energy_j!, '<= 0.1', w.idle_energy_j! / b.idle_energy_j! <= 0.1)
    // The stricter reading: a board shutting down before its relay opens counted as idle too.
    const wIdleShut = w.idle_energy_j! + w.shutdown_energy_j!
    fig(`idle-board energy counting shutdowns as idle at ${pct}`, wIdleShut, 'J', 'knative', b.idle_energy_j! + b.shutdown_energy_j!, '<= 0.1', wIdleShut / (b.idle_energy_j! + b.shutdown_energy_j!) <= 0.1)
    fig(`total energy incl. boot at ${pct}`, w.energy_j!, 'J', 'knative', b.energy_j!, '< 1 at equal or better p99', w.energy_j! < b.energy_j! && w.p99_ms! <= b.p99_ms!)
    fig(`lost invocations at ${pct}`, w.lost!, 'count', null, null, '== 0', w.lost === 0)
  }
  const speed = results.get(key(jobs[jobs.length - 1]!))!
  figures.push({ figure: `simulator: ${hours} h trace on 100 boards (${Math.round(speed.invocations)} invocations)`, value: speed.seconds, unit: 's', baseline: null, baseline_value: null, ratio: null, goal: '< 60', met: speed.seconds < 60 })
  const report = {
    name: 'evaluation',
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    figures,
    setup: {
      trace: `synthetic Azure-2019-format day, 200 functions, seed 2019, ${hours} h`, boards: boardsSpec, seeds, utilisation: utils,
      cold_start_ms: coldStartMs(), simulator: SIM_DEFAULTS,
      baseline: { balance: 'round-robin over warm boards', scale: KPA_DEFAULTS, place: 'kube-scheduler LeastAllocated + spread', power: 'none', board_queue: 'fifo (one queue, arrival order)' },
      'baseline-ratio': 'the baseline on boards with the wisp run queue (per-function queues, highest response ratio first): an ablation',
      wisp: { balance: 'mu (least expected completion time, queued work by class of run time)', scale: PROACTIVE_DEFAULTS, place: 'fair', power: POWER_GATE_DEFAULTS, board_queue: 'ratio (per-function queues, highest response ratio first)' },
      git: (() => { try { return execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim() } catch { return null } })()
    },
    summary
  }
  mkdirSync('bench/results', { recursive: true })
  writeFileSync('bench/results/evaluation.json', JSON.stringify(report, null, 2) + '\n')
  writeFileSync('bench/results/evaluation.svg', chart(summary, sets))
  for (const f of figures) process.stdout.write(`${String(f.met ? 'met ' : 'MISS')}  ${String(f.figure)}: ${Number(f.value).toPrecision(4)} ${String(f.unit)}${f.ratio === null ? '' : ` (ratio ${Number(f.ratio).toPrecision(3)}, goal ${String(f.goal)})`}\n`)
}
