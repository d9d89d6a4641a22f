// The green bench is bit-for-bit repeatable: a small day through the bench's own code
// (test/bench/lib/green-day.ts: carbon-blind, carbon-aware and capped runs, the oracle figures)
// gives one output, byte for byte, in this process and in two child processes whose clocks and
// unseeded random sources differ, one of them run from a folder holding another measured cold
// start (bench/results/cold-start.json, which the cold-start bench rewrites) and with a temporary
// folder holding another day under the name the bench once shared with the evaluation.
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateTrace } from '../../runtime/sim/trace-gen.js'
import { smallGreenDay } from './fixtures/green-repeatable-day.js'

const CHILD = fileURLToPath(new URL('./fixtures/green-repeatable-day.ts', import.meta.url))
const TSX = import.meta.resolve('tsx')

const inChild = async (perturb: number, cwd: string, env: Record<string, string> = {}): Promise<string> => await new Promise((resolve, reject) => {
  const c = spawn(process.execPath, ['--import', TSX, CHILD, '--child'], { cwd, env: { ...process.env, ...env, WISP_PERTURB: String(perturb), WISP_SEED: '1' }, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  c.stdout.on('data', (b: Buffer) => { out += b.toString() })
  c.on('error', reject)
  c.on('close', (code) => { if (code === 0) resolve(out); else reject(new Error(`green child exited ${String(code)}`)) })
})

t.test('one seed, one green day: in this process and in two child processes with other clocks, random sources, cold-start file and temporary folder', async (tt) => {
  const other = mkdtempSync(join(tmpdir(), 'wisp-green-repeat-'))
  tt.teardown(() => { rmSync(other, { recursive: true, force: true }) })
  mkdirSync(join(other, 'bench/results'), { recursive: true })
  writeFileSync(join(other, 'bench/results/cold-start.json'), JSON.stringify({ figures: [{ figure: 'runtime cold start, code cached, spare ready (200 KB)', value: 40, unit: 'ms' }] }))
  const tmp = join(other, 'tmp')
  generateTrace(join(tmp, 'wisp-evaluation-day-1'), { seed: 99, minutes: 40, functions: 5 })
  const children = Promise.all([inChild(1, process.cwd()), inChild(2, other, { TMPDIR: tmp })])
  const first = smallGreenDay(1)
  const [a, b] = await children
  tt.equal(a, first, 'in a child process: byte for byte')
  tt.equal(b, first, 'in a child with another clock, random sources, cold-start file and temporary folder: byte for byte')
  const r = JSON.parse(first) as { days: Array<{ aware: { deferrable: number, deadlines_met: number }, capped: { cap_minutes: number } | null }>, runs_sha256: Record<string, string> }
  const day = r.days[0]
  tt.ok((day?.aware.deferrable ?? 0) > 1000, 'a day with real deferrable load')
  tt.not(r.runs_sha256.aware, r.runs_sha256.blind, 'the carbon-aware day moved deferrable runs (the outputs can tell policies apart)')
  tt.ok((day?.capped?.cap_minutes ?? 0) > 0, 'the capped window ran under a cap')
})
