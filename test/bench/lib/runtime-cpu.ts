// The runtime's own CPU, as a simulated board's meter sees it: a one-board `wisp start` (the
// reference board, speed 1, so the meter's 1/speed stretch is 1) and the replay's handler with
// a zero duration (`REPLAY_CODE`: its run costs only the runtime's work). The board's gossiped energy above its idle draw, first with nothing to run
// (the agent's and the isolate host's background: gossip, timers, the broker connection), then
// under a steady rate of runs (less that background, per run: receiving a run, handing it to
// the isolate host, the reply), then while warm targets start and stop runtimes (less that
// background, per runtime started: an isolate, its context and module, and its disposal). Converted to cores and core-ms with the profile's power line,
// the inputs of the simulator's `runtimeCpu`. A workload of its own, apart from any trace.
import mqtt from 'mqtt'
import { getProfile } from '../../../boards/index.js'
import { buildManifest } from '../../../runtime/protocol/manifest.js'
import { Topics } from '../../../runtime/protocol/topics.js'
import { publishDeployment } from '../../../runtime/transport/publish-deployment.js'
import { energyInWindow, REPLAY_CODE, upTimeInWindow, type EnergySample, type ReplayWork } from '../../../runtime/sim/replay-live.js'
import type { RuntimeCpu } from '../../../runtime/sim/sim-board.js'
import { testCluster } from '../../helpers/cluster.js'

export interface RuntimeCpuMeasurement extends RuntimeCpu {
  readonly idleAboveW: number
  readonly runs: number
  readonly perRunJ: number
  readonly runtimesStarted: number
  readonly perRuntimeJ: number
  readonly perRuntimeMs: number
}

/** Runtimes a warm target starts at once (the reference board's cores: at most that many per function). */
const WARM = 4

/** A run of zero duration. */
const EVENT = JSON.stringify({ ms: 0, i: 0 })
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

export const measureRuntimeCpu = async (o: { idleMs: number, runs: number, ratePerS: number, warmCycles: number, work: ReplayWork }): Promise<RuntimeCpuMeasurement> => {
  const c = await testCluster({ boards: 1, policy: 'wisp-no-gate' })
  const topics = new Topics()
  const profile = getProfile('raspberry-pi-4b')
  const perCoreW = (profile.peak_w - profile.idle_w) / profile.cores
  try {
    const code = REPLAY_CODE[o.work]
    await publishDeployment(c.cluster.gateway.transport, topics, buildManifest('noop', code, { memory_mb: 64, concurrency: 1 }), code)
    const client = await mqtt.connectAsync(c.url, { clientId: `wisp-runtime-cpu-${process.pid}`, reconnectPeriod: 0 })
    const samples = new Map<string, EnergySample[]>()
    let answered = 0
    let runtimes = 0
    client.on('message', (topic, payload) => {
      const parts = topic.split('/')
      if (parts[1] !== 'boards') { answered++; return }
      const msg = JSON.parse(payload.toString()) as { energy_j?: unknown, power_w?: unknown, status?: unknown, incarnation?: unknown }
      if (typeof msg.energy_j !== 'number' || typeof msg.power_w !== 'number' || msg.status !== 'online') return
      runtimes = (msg as { functions?: Record<string, { runtimes?: number }> }).functions?.noop?.runtimes ?? runtimes
      const list = samples.get(parts[2] ?? '') ?? []
      samples.set(parts[2] ?? '', list)
      list.push({ at: Date.now(), incarnation: String(msg.incarnation), energyJ: msg.energy_j, powerW: msg.power_w })
    })
    await client.subscribeAsync([`${topics.prefix}/result/rcpu/#`, topics.boardFilter('state')], { qos: 1 })
    // One run first: the cold start is not the runtime's per-run cost.
    await client.publishAsync(topics.invoke('noop', 'rcpu', 'warm'), EVENT, { qos: 1 })
    for (let i = 0; i < 200 && answered < 1; i++) await sleep(50)
    await sleep(2000)
    const idleFrom = Date.now()
    await sleep(o.idleMs)
    const idleTo = Date.now()
    const runFrom = idleTo
    for (let i = 0; i < o.runs; i++) {
      void client.publishAsync(topics.invoke('noop', 'rcpu', `r${i}`), EVENT, { qos: 1 })
      await sleep(1000 / o.ratePerS)
    }
    for (let i = 0; i < 400 && answered < o.runs + 1; i++) await sleep(50)
    const runTo = Date.now()
    // Warm targets up and down: each cycle starts WARM runtimes and lets them go (the gossip says when).
    const warm = async (n: number): Promise<void> => {
      await client.publishAsync(topics.board('b1', 'control'), JSON.stringify({ v: 1, op: 'warm', fn: 'noop', runtimes: n }), { qos: 1 })
      for (let i = 0; i < 100 && runtimes !== n; i++) await sleep(50)
    }
    await warm(0)
    const warmFrom = Date.now()
    let started = 0
    for (let k = 0; k < o.warmCycles; k++) {
      await warm(WARM)
      if (runtimes === WARM) started += WARM
      await warm(0)
    }
    const warmTo = Date.now()
    await sleep(2500) // one more gossip past the window
    await client.endAsync()
    const above = (from: number, to: number): { j: number, s: number } => {
      const s = (upTimeInWindow(samples, from, to).get('b1') ?? 0) / 1000
      return { j: (energyInWindow(samples, from, to).get('b1') ?? 0) - profile.idle_w * s, s }
    }
    const idle = above(idleFrom, idleTo)
    const run = above(runFrom, runTo)
    const idleAboveW = idle.s > 0 ? Math.max(0, idle.j / idle.s) : 0
    const runs = answered - 1
    const perRunJ = runs > 0 ? Math.max(0, run.j - idleAboveW * run.s) / runs : 0
    const w = above(warmFrom, warmTo)
    const perRuntimeJ = started > 0 ? Math.max(0, w.j - idleAboveW * w.s) / started : 0
    return {
      idleAboveW, runs, perRunJ, runtimesStarted: started, perRuntimeJ,
      idleCores: idleAboveW / perCoreW * profile.speed, perRunMs: perRunJ / perCoreW * 1000 * profile.speed, perRuntimeMs: perRuntimeJ / perCoreW * 1000 * profile.speed
    }
  } finally {
    await c.close()
  }
}
