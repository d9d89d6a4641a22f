// Data-plane cost per invocation (issue 14), as a user meets it: `wisp start` (4 boards, the
// `hello` example) through bin/wisp.js, driven by a load client in its own process (one mqtt.js
// connection, QoS 1): WARM calls, then SEQ sequential calls, then CONC calls at IN_FLIGHT in
// flight. CPU time (utime + stime from /proc/<pid>/stat) of the gateway, every board agent and
// every isolate host is read before and after the measured calls and divided by them, and so are
// their read and write system calls (/proc/<pid>/io, `io_syscalls`); RSS per role after. In the
// same run: a bare MQTT request/echo through the same broker whose echo side is a process of its
// own (lib/echo-process.ts), and workerd serving the same trivial function
// (lib/workerd-hello.capnp) driven by autocannon at IN_FLIGHT connections for as long as the
// concurrent phase took. Writes bench/results/cost.json.
// WISP_BENCH_CPU_PROF=<dir> runs every wisp process with --cpu-prof into <dir> (see
// test/bench/profile-top.ts) (a profile is
// written when the process exits, so the figures of such a run are not the benchmark's).
import { spawn, fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { freePort } from '../helpers/ports.js'
import { figure, info, quantile, report } from './lib/figures.js'
import type { LoadReply, LoadRequest } from './lib/cost-load.js'
import { waitForOutput } from '../helpers/wisp-cli.js'
import { childrenOf, cmdline, cpuMs, ioCalls, rssMb } from '../helpers/proc.js'

const SEQ = Number(process.env.WISP_BENCH_SEQ ?? 1000)
const CONC = Number(process.env.WISP_BENCH_CONC ?? 5000)
const IN_FLIGHT = 64
const WARM = 200
// Steady state: CPU per invocation again after this many more calls, once every process's hot code is compiled.
const STEADY_WARM = Number(process.env.WISP_BENCH_STEADY_WARM ?? 15000)
const BOARDS = 4
const GOAL = { total: 0.5, gateway: 0.15, agent: 0.2, host: 0.15, throughput: 1.0, p50: 1.5 }
const BIN = fileURLToPath(new URL('../../bin/wisp.js', import.meta.url))
const WORKERD = fileURLToPath(new URL('../../node_modules/.bin/workerd', import.meta.url))
const lib = (f: string): string => fileURLToPath(new URL(`./lib/${f}`, import.meta.url))
const PROFILE_DIR = process.env.WISP_BENCH_CPU_PROF

type Role = 'gateway' | 'agent' | 'host'
// bin/wisp.js runs `start` in a child with the gateway's Node flags: the gateway role is both
// processes (the wrapper idles), the boards are the child's children.
const processes = (wrapper: number): Array<{ pid: number, role: Role }> => {
  const gateways = [wrapper, ...childrenOf(wrapper).filter((pid) => cmdline(pid).includes('cli/main.js start'))]
  const agents = gateways.flatMap(childrenOf).filter((pid) => cmdline(pid).includes(' board '))
  if (agents.length !== BOARDS) throw new Error(`${agents.length} board agents found, expected ${BOARDS}`)
  const hosts = agents.flatMap(childrenOf).filter((pid) => cmdline(pid).includes('executor-host'))
  return [...gateways.map((pid) => ({ pid, role: 'gateway' as const })), ...agents.map((pid) => ({ pid, role: 'agent' as const })), ...hosts.map((pid) => ({ pid, role: 'host' as const }))]
}
const byRole = (procs: Array<{ pid: number, role: Role }>, f: (pid: number) => number): Record<Role, number> => {
  const out: Record<Role, number> = { gateway: 0, agent: 0, host: 0 }
  for (const p of procs) out[p.role] += f(p.pid)
  return out
}

const forkReady = async (file: string, url: string): Promise<ChildProcess> => {
  const child = fork(file, [url], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const [ready] = await Promise.race([once(child, 'message'), once(child, 'exit').then(() => { throw new Error(`${file} exited`) })]) as unknown[]
  if (ready !== 'ready') throw new Error(`${file} did not start`)
  return child
}
const load = async (client: ChildProcess, r: LoadRequest): Promise<LoadReply> => {
  client.send(r)
  const [reply] = await once(client, 'message') as [LoadReply]
  return reply
}

// --- wisp start, the load, the echo ---
const dir = mkdtempSync(join(tmpdir(), 'wisp-cost-'))
const mqttPort = await freePort()
const httpPort = await freePort()
const env: NodeJS.ProcessEnv = { ...process.env, WISP_LOG: 'warn' }
// --cpu-prof is not allowed in NODE_OPTIONS: the gateway gets it on its command line, board processes through WISP_NODE_ARGS.
const profileArgs = PROFILE_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`]
if (PROFILE_DIR !== undefined) env.WISP_NODE_ARGS = profileArgs.join(' ')
const start = spawn(process.execPath, [...profileArgs, BIN, 'start', '--boards', String(BOARDS), '--mqtt-port', String(mqttPort), '--http-port', String(httpPort), '--data-dir', join(dir, '.wisp')],
  { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'], env })
const url = `mqtt://127.0.0.1:${mqttPort}`
let wisp: { seq: LoadReply, conc: LoadReply, cpu: Record<Role, number>, io: Record<Role, number>, rss: Record<Role, number>, counts: Record<Role, number> }
let steady: { cpu: Record<Role, number>, run: LoadReply }
let echo: { seq: LoadReply, conc: LoadReply }
try {
  await waitForOutput(start, /Ctrl-C stops/, 120_000)
  const echoProc = await forkReady(lib('echo-process.ts'), url)
  const client = await forkReady(lib('cost-load.ts'), url)
  const warm = await load(client, { kind: 'wisp', n: WARM, inFlight: 8, tag: 'w' })
  if (warm.failures > 0) throw new Error(`${warm.failures} of ${WARM} warm-up calls failed`)
  const procs = processes(start.pid as number)
  const before = byRole(procs, cpuMs)
  const ioBefore = byRole(procs, ioCalls)
  const measuredFrom = process.hrtime.bigint()
  const seq = await load(client, { kind: 'wisp', n: SEQ, inFlight: 1, tag: 's' })
  const conc = await load(client, { kind: 'wisp', n: CONC, inFlight: IN_FLIGHT, tag: 'c' })
  const after = byRole(procs, cpuMs)
  const ioAfter = byRole(procs, ioCalls)
  // CLOCK_MONOTONIC, as `perf record -k mono` stamps its samples: a profile can be cut to the measured calls.
  console.error(`[cost] measured calls from ${measuredFrom} to ${process.hrtime.bigint()} ns (CLOCK_MONOTONIC)`)
  const cpu = { gateway: after.gateway - before.gateway, agent: after.agent - before.agent, host: after.host - before.host }
  const io = { gateway: ioAfter.gateway - ioBefore.gateway, agent: ioAfter.agent - ioBefore.agent, host: ioAfter.host - ioBefore.host }
  wisp = { seq, conc, cpu, io, rss: byRole(procs, rssMb), counts: byRole(procs, () => 1) }
  const more = await load(client, { kind: 'wisp', n: STEADY_WARM, inFlight: IN_FLIGHT, tag: 'x' })
  const b2 = byRole(procs, cpuMs)
  const run = await load(client, { kind: 'wisp', n: CONC, inFlight: IN_FLIGHT, tag: 'y' })
  const a2 = byRole(procs, cpuMs)
  if (more.failures + run.failures > 0) throw new Error(`${more.failures + run.failures} steady-state calls failed`)
  steady = { cpu: { gateway: a2.gateway - b2.gateway, agent: a2.agent - b2.agent, host: a2.host - b2.host }, run }
  await load(client, { kind: 'echo', n: WARM, inFlight: 8, tag: 'w' })
  echo = { seq: await load(client, { kind: 'echo', n: SEQ, inFlight: 1, tag: 's' }), conc: await load(client, { kind: 'echo', n: CONC, inFlight: IN_FLIGHT, tag: 'c' }) }
  client.disconnect()
  echoProc.disconnect()
} finally {
  const exited = new Promise((resolve) => start.once('exit', resolve))
  start.kill('SIGTERM')
  await exited
  rmSync(dir, { recursive: true, force: true })
}

// --- workerd, the same function, as long as the concurrent phase took ---
const wdPort = await freePort()
const wd = spawn(WORKERD, ['serve', lib('workerd-hello.capnp'), '--socket-addr', `http=127.0.0.1:${wdPort}`], { stdio: ['ignore', 'inherit', 'inherit'] })
let workerd: { rps: number, p50: number, p99: number, errors: number, cpuMsPerReq: number, rssMb: number }
try {
  const deadline = Date.now() + 30_000
  for (;;) {
    try { if ((await fetch(`http://127.0.0.1:${wdPort}/`, { method: 'POST', body: '{}' })).ok) break } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error('workerd did not answer within 30 s')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const opts = { url: `http://127.0.0.1:${wdPort}/`, method: 'POST' as const, body: JSON.stringify({ name: 'edge' }), headers: { 'content-type': 'application/json' }, connections: IN_FLIGHT }
  await autocannon({ ...opts, duration: 1 })
  const cpu0 = cpuMs(wd.pid as number)
  const r = await autocannon({ ...opts, duration: Math.max(3, Math.round(wisp.conc.ms / 1000)) })
  workerd = { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx, cpuMsPerReq: (cpuMs(wd.pid as number) - cpu0) / r.requests.total, rssMb: rssMb(wd.pid as number) }
} finally {
  wd.kill('SIGTERM')
  await once(wd, 'exit')
}

// --- figures ---
const N = SEQ + CONC
const per = (ms: number): number => ms / N
const cpuTotal = per(wisp.cpu.gateway + wisp.cpu.agent + wisp.cpu.host)
const rps = CONC / (wisp.conc.ms / 1000)
const echoRps = CONC / (echo.conc.ms / 1000)
const p50 = quantile(wisp.seq.latencies, 0.5)
const e50 = quantile(echo.seq.latencies, 0.5)
const failures = wisp.seq.failures + wisp.conc.failures
const cpuFig = (role: Role, what: string, goal: number): ReturnType<typeof figure> =>
  figure({ figure: `CPU per invocation, ${what}`, value: per(wisp.cpu[role]), unit: 'ms', baseline: null, baseline_value: null, goal: `<= ${goal} ms`, met: per(wisp.cpu[role]) <= goal })
const ECHO = 'bare MQTT request/echo, echo in its own process (same broker, mqtt.js, QoS 1)'
report('cost', [
  figure({ figure: 'CPU per invocation, all processes', value: cpuTotal, unit: 'ms', baseline: null, baseline_value: null, goal: `<= ${GOAL.total} ms`, met: cpuTotal <= GOAL.total, failures }),
  cpuFig('gateway', 'gateway (broker + leader)', GOAL.gateway),
  cpuFig('agent', `board agents (sum of ${wisp.counts.agent})`, GOAL.agent),
  cpuFig('host', `isolate hosts (sum of ${wisp.counts.host})`, GOAL.host),
  figure({ figure: `throughput at ${IN_FLIGHT} in flight`, value: rps, unit: 'inv/s', baseline: `workerd, same function, autocannon ${IN_FLIGHT} connections`, baseline_value: workerd.rps, goal: `>= ${GOAL.throughput}x workerd`, met: rps / workerd.rps >= GOAL.throughput, failures: wisp.conc.failures }),
  figure({ figure: 'sequential p50', value: p50, unit: 'ms', baseline: `${ECHO} p50`, baseline_value: e50, goal: `<= ${GOAL.p50}x echo`, met: p50 / e50 <= GOAL.p50, failures: wisp.seq.failures }),
  info({ figure: 'sequential p99', value: quantile(wisp.seq.latencies, 0.99), unit: 'ms', baseline: `${ECHO} p99`, baseline_value: quantile(echo.seq.latencies, 0.99) }),
  info({ figure: `p50 at ${IN_FLIGHT} in flight`, value: quantile(wisp.conc.latencies, 0.5), unit: 'ms', baseline: 'workerd p50', baseline_value: workerd.p50 }),
  info({ figure: `p99 at ${IN_FLIGHT} in flight`, value: quantile(wisp.conc.latencies, 0.99), unit: 'ms', baseline: 'workerd p99', baseline_value: workerd.p99 }),
  info({ figure: `echo throughput at ${IN_FLIGHT} in flight`, value: echoRps, unit: 'round trips/s', baseline: null, baseline_value: null, failures: echo.seq.failures + echo.conc.failures }),
  info({ figure: 'workerd CPU per request', value: workerd.cpuMsPerReq, unit: 'ms', baseline: null, baseline_value: null, failures: workerd.errors }),
  info({ figure: `CPU per invocation, all processes, steady state (${CONC} calls at ${IN_FLIGHT} in flight after ${WARM + N + STEADY_WARM} calls)`, value: (steady.cpu.gateway + steady.cpu.agent + steady.cpu.host) / CONC, unit: 'ms', baseline: null, baseline_value: null, failures: steady.run.failures }),
  ...(['gateway', 'agent', 'host'] as const).map((role) => info({ figure: `CPU per invocation, steady state, ${role === 'gateway' ? 'gateway' : role === 'agent' ? 'board agents' : 'isolate hosts'}`, value: steady.cpu[role] / CONC, unit: 'ms', baseline: null, baseline_value: null })),
  info({ figure: `throughput at ${IN_FLIGHT} in flight, steady state`, value: CONC / (steady.run.ms / 1000), unit: 'inv/s', baseline: 'workerd (measured above)', baseline_value: workerd.rps }),
  info({ figure: 'RSS, gateway', value: wisp.rss.gateway, unit: 'MB', baseline: null, baseline_value: null }),
  info({ figure: `RSS, board agents (sum of ${wisp.counts.agent})`, value: wisp.rss.agent, unit: 'MB', baseline: null, baseline_value: null }),
  info({ figure: `RSS, isolate hosts (sum of ${wisp.counts.host})`, value: wisp.rss.host, unit: 'MB', baseline: null, baseline_value: null }),
  info({ figure: 'RSS, workerd', value: workerd.rssMb, unit: 'MB', baseline: null, baseline_value: null })
], { sequential: SEQ, concurrent: CONC, in_flight: IN_FLIGHT, warmup: WARM, steady_warmup: STEADY_WARM, failures, cpu_ms: wisp.cpu, io_syscalls: wisp.io, steady_cpu_ms: steady.cpu, profiled: PROFILE_DIR !== undefined })
process.exit(0)
