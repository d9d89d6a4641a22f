// Board footprint and CLI start, as a user meets them (issue 14): `wisp start --boards 1`
// through bin/wisp.js, three `hello` calls, then the resident memory (VmRSS) of the board's
// agent and every process under it, once its process tree has settled; and the wall time of
// `wisp --help`. Each figure is the median of ROUNDS runs, with the smallest and largest.
// Prints JSON; writes nothing.
//   node test/bench/footprint.ts is not enough (TypeScript): node --import tsx test/bench/footprint.ts
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '../helpers/ports.js'
import { TestClient } from '../helpers/mqtt.js'

const ROUNDS = Number(process.env.WISP_BENCH_ROUNDS ?? 3)
const HELP_ROUNDS = Number(process.env.WISP_BENCH_HELP_ROUNDS ?? 7)
const BIN = fileURLToPath(new URL('../../bin/wisp.js', import.meta.url))

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? NaN }
const spread = (xs: number[]): { median: number, min: number, max: number } => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) })

const childrenOf = (pid: number): number[] =>
  spawnSync('pgrep', ['-P', String(pid)]).stdout.toString().trim().split('\n').filter(Boolean).map(Number)
const tree = (pid: number): number[] => [pid, ...childrenOf(pid).flatMap(tree)]
const cmdline = (pid: number): string => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ') } catch { return '' } }
const rssMb = (pid: number): number => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? 0 : Number(m[1]) / 1024
  } catch { return 0 }
}

const waitForOutput = async (p: ChildProcess, re: RegExp, ms: number): Promise<void> => {
  let out = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${String(re)} within ${ms} ms; got: ${out}`)), ms)
    p.stdout?.on('data', (d: Buffer) => { out += d.toString(); if (re.test(out)) { clearTimeout(timer); resolve() } })
    p.on('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${code}: ${out}`)) })
  })
}

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

interface Round { totalMb: number, processes: Array<{ role: string, mb: number }> }

const role = (pid: number): string => {
  const c = cmdline(pid)
  if (c.includes('executor-host')) return 'isolate host'
  if (c.includes(' board ')) return 'agent'
  if (c.includes('esbuild')) return 'esbuild service'
  return c.slice(0, 60)
}

const oneRound = async (): Promise<Round> => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-footprint-'))
  const mqttPort = await freePort()
  const httpPort = await freePort()
  const p = spawn(process.execPath, [BIN, 'start', '--boards', '1', '--mqtt-port', String(mqttPort), '--http-port', String(httpPort), '--data-dir', join(dir, '.wisp')],
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
    const agent = all.find((pid) => role(pid) === 'agent')
    if (agent === undefined) throw new Error('no board agent process found')
    const processes = tree(agent).map((pid) => ({ role: role(pid), mb: Math.round(rssMb(pid) * 10) / 10 }))
    return { totalMb: Math.round(processes.reduce((n, x) => n + x.mb, 0) * 10) / 10, processes }
  } finally {
    const exited = new Promise((resolve) => p.once('exit', resolve))
    p.kill('SIGTERM')
    await exited
    rmSync(dir, { recursive: true, force: true })
  }
}

const helpMs = (): number => {
  const t0 = performance.now()
  const r = spawnSync(process.execPath, [BIN, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] })
  if (r.status !== 0) throw new Error(`wisp --help exited ${r.status}: ${r.stderr.toString()}`)
  return Math.round(performance.now() - t0)
}

const help = Array.from({ length: HELP_ROUNDS }, helpMs)
const rounds: Round[] = []
for (let i = 0; i < ROUNDS; i++) rounds.push(await oneRound())
console.log(JSON.stringify({
  boardRssMb: spread(rounds.map((r) => r.totalMb)),
  helpMs: spread(help),
  rounds
}, null, 2))
