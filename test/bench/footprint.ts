// Board footprint and CLI start, as a user meets them (issue 14): `wisp start --boards 2`
// through bin/wisp.js (b1 a Raspberry Pi 4B profile, 2 GB, with a standby isolate host; b2 a
// Pi Zero 2 W, 512 MB, without), three `hello` calls, then the resident memory (VmRSS) of each
// board's agent and every process under it, once the process tree has settled; and the wall
// and CPU time of `wisp --help`. Each figure is the median of ROUNDS runs, with the smallest
// and largest. Writes bench/results/footprint.json (as `npm run bench` does for every bench).
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '../helpers/ports.js'
import { TestClient } from '../helpers/mqtt.js'
import { figure, info, report, spread as runs } from './lib/figures.js'
import { waitForOutput } from '../helpers/wisp-cli.js'
import { cmdline, envOf, rssMb, tree } from '../helpers/proc.js'

const ROUNDS = Number(process.env.WISP_BENCH_ROUNDS ?? 3)
const HELP_ROUNDS = Number(process.env.WISP_BENCH_HELP_ROUNDS ?? 7)
const BIN = fileURLToPath(new URL('../../bin/wisp.js', import.meta.url))

const FOOTPRINT_GOAL_MB = 150
const HELP_GOAL_MS = 300

/** Waits until the set of pids under `pid` has not changed for `quietMs` (a standby host starts after the first). */
const settledTree = async (pid: number, quietMs: number, maxMs: number): Promise<number[]> => {
  const deadline = Date.now() + maxMs
  let last = tree(pid).join(',')
  let since = Date.now()
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250))
    const now = tree(pid).join(',')
    if (now !== last) { last = now; since = Date.now() } else if (Date.now() - since >= quietMs) break
  }
  return tree(pid)
}

interface Board { board: string, profile: string, totalMb: number, processes: Array<{ role: string, mb: number }> }

const role = (pid: number): string => {
  const c = cmdline(pid)
  if (c.includes('executor-host')) return 'isolate host'
  if (c.includes(' board ')) return 'agent'
  if (c.includes('esbuild')) return 'esbuild service'
  return c.slice(0, 60)
}

const profileOf = (pid: number): string => {
  const config = /--config (\S+)/.exec(cmdline(pid))?.[1]
  try { return config === undefined ? '?' : (JSON.parse(readFileSync(config, 'utf8')) as { profile: string }).profile } catch { return '?' }
}

const oneRound = async (): Promise<Board[]> => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-footprint-'))
  const mqttPort = await freePort()
  const httpPort = await freePort()
  const p = spawn(process.execPath, [BIN, 'start', '--boards', '2', '--mqtt-port', String(mqttPort), '--http-port', String(httpPort), '--invoke-port', '0', '--data-dir', join(dir, '.wisp')],
    { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, WISP_LOG: 'warn' } })
  try {
    await waitForOutput(p, /Ctrl-C stops/, 120_000)
    const client = await TestClient.connect(`mqtt://127.0.0.1:${mqttPort}`)
    await client.sub('wisp/result/me/hello/+')
    for (let i = 1; i <= 3; i++) {
      await client.pub(`wisp/invoke/hello/me/r${i}`, '{"name":"edge"}')
      await client.waitFor((x) => x.length >= i, 30_000)
    }
    await client.close()
    const all = await settledTree(p.pid as number, 3000, 30_000)
    const agents = all.filter((pid) => role(pid) === 'agent')
    if (agents.length !== 2) throw new Error(`${agents.length} board agent processes found`)
    return agents.map((agent) => {
      const processes = tree(agent).map((pid) => ({ role: role(pid), mb: Math.round(rssMb(pid) * 10) / 10 }))
      const board = envOf(agent, 'WISP_PROCESS') ?? '?'
      return { board, profile: profileOf(agent), totalMb: Math.round(processes.reduce((n, x) => n + x.mb, 0) * 10) / 10, processes }
    }).sort((a, b) => a.board.localeCompare(b.board))
  } finally {
    const exited = new Promise((resolve) => p.once('exit', resolve))
    p.kill('SIGTERM')
    await exited
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Wall time and CPU time (user + system, from the shell's `time`) of one `wisp --help`, ms. */
const helpMs = (): { wall: number, cpu: number } => {
  const r = spawnSync('bash', ['-c', 'TIMEFORMAT="%R %U %S"; time "$0" "$1" --help > /dev/null', process.execPath, BIN], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`wisp --help exited ${r.status}: ${r.stderr}`)
  const [wall, user, sys] = r.stderr.trim().split('\n').at(-1)?.split(' ').map(Number) ?? []
  return { wall: Math.round((wall ?? NaN) * 1000), cpu: Math.round(((user ?? NaN) + (sys ?? NaN)) * 1000) }
}

const help = Array.from({ length: HELP_ROUNDS }, helpMs)
const rounds: Board[][] = []
for (let i = 0; i < ROUNDS; i++) rounds.push(await oneRound())
const byBoard = (id: string): Board[] => rounds.map((r) => r.find((b) => b.board === id)).filter((b): b is Board => b !== undefined)
const footprint = (id: string, what: string) => {
  const r = runs(byBoard(id).map((b) => b.totalMb))
  return figure({ figure: `board RSS after three hello calls, ${what}`, unit: 'MB', ...r, baseline: null, baseline_value: null, goal: `<= ${FOOTPRINT_GOAL_MB} MB`, met: r.value <= FOOTPRINT_GOAL_MB })
}
const wall = runs(help.map((h) => h.wall))
report('footprint', [
  footprint('b1', `${byBoard('b1')[0]?.profile ?? 'b1'} (2 GB: agent, isolate host, standby host)`),
  footprint('b2', `${byBoard('b2')[0]?.profile ?? 'b2'} (512 MB: agent, isolate host)`),
  figure({ figure: 'wisp --help, wall time', unit: 'ms', ...wall, baseline: null, baseline_value: null, goal: `<= ${HELP_GOAL_MS} ms`, met: wall.value <= HELP_GOAL_MS }),
  info({ figure: 'wisp --help, CPU time (user + system)', unit: 'ms', ...runs(help.map((h) => h.cpu)), baseline: null, baseline_value: null })
], { rounds })
