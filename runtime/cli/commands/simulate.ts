import { writeFileSync, mkdirSync, createWriteStream, type WriteStream } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { Command, Option } from 'commander'
import { WispError } from '../../shared/errors.js'
import { parseTrace } from '../../sim/trace.js'
import { generateTrace } from '../../sim/trace-gen.js'
import { coldStartMs, DEFAULT_BOARDS, expandSets, parseBoardSpec, runSimulation, scaleForPeakUtilisation } from '../../sim/run.js'
import { formatTable } from '../../sim/report.js'

const int = (what: string) => (v: string): number => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0) throw new WispError('WISP_BAD_CONFIG', `${what}: "${v}" is not a non-negative integer`)
  return n
}
const positive = (what: string) => (v: string): number => {
  const n = Number(v)
  if (!Number.isFinite(n) || n <= 0) throw new WispError('WISP_BAD_CONFIG', `${what}: "${v}" is not a positive number`)
  return n
}
const window = (v: string): [number, number] => {
  const m = /^(\d+)-(\d+)$/.exec(v)
  if (m === null) throw new WispError('WISP_BAD_CONFIG', `--window: "${v}" must be a-b (minutes, 1-based)`)
  return [Number(m[1]), Number(m[2])]
}

const bar = (f: number): string => `\r[${'#'.repeat(Math.round(f * 30)).padEnd(30)}] ${(100 * f).toFixed(0)}%`

export interface SimulateFlags {
  trace?: string, policy: string, seed: number, seeds?: number, out?: string, boards: string, top: number,
  window?: [number, number], scale: number, utilisation?: number, synthetic: boolean, progress: boolean, decisions?: string, functions: number
}

/** `wisp simulate`: runs policy sets over a trace (or a synthetic day) and writes the report JSON. */
export const registerSimulate = (program: Command): void => {
  program.command('simulate')
    .description('replay an Azure Functions 2019 trace (or a synthetic day) against the control-plane policies')
    .option('--trace <file>', 'invocations CSV, or a folder holding one, with its durations file beside it')
    .option('--policy <set>', 'policy set (knative, idle-off, p2c, wisp, wisp-no-gate, baseline, baseline-ratio), a comma list, or all', 'all')
    .option('--seed <n>', 'random seed', int('--seed'), 1)
    .option('--seeds <k>', 'run seeds seed..seed+k-1 and report the mean', int('--seeds'))
    .option('--out <file>', 'write the report JSON here')
    .option('--boards <spec>', 'profile:count,...', DEFAULT_BOARDS)
    .option('--top <n>', 'keep the N functions with most invocations (0 = all)', int('--top'), 0)
    .addOption(new Option('--window <a-b>', 'minutes a..b of the day (1-based)').argParser(window))
    .option('--scale <x>', 'multiply every per-minute count', positive('--scale'), 1)
    .option('--utilisation <u>', 'scale the trace so its busiest 10 minutes offer this share of the boards\' capacity (replaces --scale)', positive('--utilisation'))
    .option('--synthetic', 'generate a synthetic day in the trace format (into --trace, or a temporary folder)', false)
    .option('--functions <n>', 'functions in a synthetic day', int('--functions'), 200)
    .option('--progress', 'show a progress bar even when stderr is not a terminal', false)
    .option('--decisions <file>', 'write every decision (JSON lines, with its policy set)')
    .action((flags: SimulateFlags) => {
      let path = flags.trace
      if (flags.synthetic) {
        path = generateTrace(path ?? join(tmpdir(), `wisp-synthetic-${flags.seed}`), { seed: flags.seed, functions: flags.functions })
      }
      if (path === undefined) throw new WispError('WISP_BAD_CONFIG', 'simulate: give --trace F or --synthetic')
      const trace = parseTrace(path, { top: flags.top, window: flags.window })
      const boards = parseBoardSpec(flags.boards)
      // Peak load over the whole day read, before --window narrows it.
      const scale = flags.utilisation === undefined ? flags.scale : scaleForPeakUtilisation(parseTrace(path, { top: flags.top }), boards, flags.utilisation)
      const seeds = Array.from({ length: Math.max(1, flags.seeds ?? 1) }, (_, i) => flags.seed + i)
      const showBar = flags.progress || process.stderr.isTTY === true
      let log: WriteStream | undefined
      if (flags.decisions !== undefined) log = createWriteStream(flags.decisions)
      const cold = coldStartMs()
      const { report } = runSimulation({
        trace, boards, sets: expandSets(flags.policy), seeds, scale, coldMs: cold.ms,
        onProgress: showBar ? (f) => process.stderr.write(bar(f)) : undefined,
        onDecision: log === undefined ? undefined : (set, d) => log?.write(JSON.stringify({ set, ...d }) + '\n')
      })
      if (showBar) process.stderr.write('\n')
      log?.end()
      if (flags.out !== undefined) {
        mkdirSync(dirname(flags.out), { recursive: true })
        writeFileSync(flags.out, JSON.stringify(report, null, 2) + '\n')
      }
      process.stdout.write(formatTable(report) + `\ncold start ${cold.ms} ms at reference speed (${cold.source})\n`)
    })
}
