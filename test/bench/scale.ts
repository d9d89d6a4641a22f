/**
 * Scale: 10, 100 and 1,000 boards and 10,000 deployed functions on one live gateway (embedded
 * aedes + leader in this process). The boards are stubs (test/helpers/board-stub.ts): one
 * mqtt.js client each on 127.0.0.1 (in child processes, test/bench/lib/stub-fleet.ts), as a board's identity is bound to its client id, gossiping
 * every 1 s and answering `run` with `done` after a modelled run time, without isolates. The
 * cluster grows 10 → 100 → 1,000; at each size a steady invoke load runs over random functions.
 * Measured per size:
 *  (a) the live leader's dispatch decision (Leader.dispatchView + the balancer's pick), timed
 *      around each call inside the running leader, p50/p99 (goal ≤ 10 µs);
 *  (b) gossip (`state` messages) bytes/s and messages/s at the broker, as a share of the
 *      broker's capacity measured in the same run (QoS 0 messages of the gossip's mean size,
 *      publishers → aedes → one subscriber, all on 127.0.0.1);
 *  (c) invocation latency p50/p99 at the client and failures.
 * Writes bench/results/scale.json. WISP_BENCH_SCALE_SECONDS sets the load time per size.
 * `--dispatch-only` runs only the dispatch phase at the largest size (1,000 boards unless
 * WISP_BENCH_SCALE_SIZES says otherwise, without growing through the smaller ones), skips the
 * broker capacity, writes no result file and prints the decision's tail: p90/p99/p99.9/max and
 * how many of the slowest 1 % overlap a GC (a PerformanceObserver's `gc` entries).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { SIM_PROFILES } from '../../runtime/cluster/embedded-cluster.js'
import { startGateway, type Gateway } from '../../runtime/gateway/main.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import type { Manifest } from '../../runtime/protocol/messages.js'
import type { BalancePolicy } from '../../runtime/leader/policies/types.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { seededRng } from '../../runtime/shared/rng.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { fork, type ChildProcess } from 'node:child_process'
import { PerformanceObserver } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import type { FleetConfig } from './lib/stub-fleet.js'
import { until } from '../helpers/leader-rig.js'
import { LoadClient } from '../helpers/load.js'
import { freePort } from '../helpers/ports.js'
import { figure, info, quantile, writeResult, type Figure } from './lib/figures.js'

const DISPATCH_ONLY = process.argv.includes('--dispatch-only')
const SIZES = (process.env.WISP_BENCH_SCALE_SIZES ?? (DISPATCH_ONLY ? '1000' : '10,100,1000')).split(',').map(Number)
const FNS = 10_000
const GOSSIP_MS = 1000
const LOAD_SECONDS = Number(process.env.WISP_BENCH_SCALE_SECONDS ?? 15)
const RATE = 400 // invokes/s, steady
const CAPACITY_SECONDS = 4
const log = (s: string): void => { process.stdout.write(`${s}\n`) }

const FLEET = fileURLToPath(new URL('./lib/stub-fleet.ts', import.meta.url))

/** Forks a process hosting stubs `b<first>`… and resolves once all have announced themselves. */
const startFleet = async (c: FleetConfig): Promise<ChildProcess> => await new Promise((resolve, reject) => {
  const child = fork(FLEET, [JSON.stringify(c)], { execArgv: ['--import', 'tsx'], stdio: 'inherit' })
  child.once('message', () => { resolve(child) })
  child.once('exit', (code) => { reject(new Error(`stub fleet exited (${String(code)})`)) })
})

const ask = async (child: ChildProcess): Promise<{ answered: number, cold: number }> => await new Promise((resolve) => {
  child.once('message', (m) => { resolve(m as { answered: number, cold: number }) })
  child.send('stats')
})

const stopFleet = async (child: ChildProcess): Promise<void> => await new Promise((resolve) => {
  if (child.exitCode !== null) { resolve(); return }
  child.once('exit', () => { resolve() })
  child.send('stop')
})

const coldRuns = async (fleets: ChildProcess[]): Promise<number> => (await Promise.all(fleets.map(ask))).reduce((n, s) => n + s.cold, 0)

/** Broker capacity: QoS 0 messages of `bytes` from 4 publishers through the gateway's aedes to one subscriber, msgs/s delivered. */
const brokerCapacity = async (url: string, bytes: number): Promise<number> => {
  const sub = await mqtt.connectAsync(url, { clientId: 'capacity-sub', reconnectPeriod: 0 })
  await sub.subscribeAsync('scale-bench/flood/+', { qos: 0 })
  let got = 0
  sub.on('message', () => { got++ })
  const pubs = await Promise.all([0, 1, 2, 3].map(async (k) => await mqtt.connectAsync(url, { clientId: `capacity-pub-${k}`, reconnectPeriod: 0 })))
  const payload = Buffer.alloc(bytes, 'x')
  const end = performance.now() + CAPACITY_SECONDS * 1000
  let counting = false
  let t0 = 0
  const run = async (k: number): Promise<void> => {
    const c = pubs[k]!
    while (performance.now() < end) {
      if (!counting && performance.now() > end - (CAPACITY_SECONDS - 1) * 1000) { counting = true; got = 0; t0 = performance.now() }
      // A burst, then wait until the socket drained it (mqtt.js calls back once written).
      await Promise.all(Array.from({ length: 200 }, async () => await new Promise<void>((resolve) => { c.publish(`scale-bench/flood/${k}`, payload, { qos: 0 }, () => resolve()) })))
    }
  }
  await Promise.all(pubs.map(async (_, k) => await run(k)))
  const rate = got / ((performance.now() - t0) / 1000)
  await Promise.all([sub, ...pubs].map(async (c) => await c.endAsync(true)))
  return rate
}

interface SizeResult {
  boards: number
  decisionP50Us: number, decisionP99Us: number, decisions: number
  dispatchP50Us: number, dispatchP99Us: number, viewP50Us: number, viewP99Us: number
  gossipMsgsPerS: number, gossipBytesPerS: number, gossipMeanBytes: number, brokerMsgsPerS: number
  sent: number, ok: number, failures: number, invokeP50Ms: number, invokeP99Ms: number, cold: number
}

/**
 * Samples kept in a buffer allocated once: recording one allocates nothing, so the probes (one of
 * which, the view timing, runs inside the timed decision) neither grow an array inside a timed
 * region nor bring the next scavenge closer. Beyond `capacity` samples are counted, not kept.
 */
class Samples {
  private readonly buf: Float64Array
  length = 0
  dropped = 0
  constructor (capacity = 1 << 18) { this.buf = new Float64Array(capacity) }
  push (x: number): void { if (this.length < this.buf.length) this.buf[this.length++] = x; else this.dropped++ }
  clear (): void { this.length = 0; this.dropped = 0 }
  values (): number[] { return Array.from(this.buf.subarray(0, this.length)) }
}

/** Times the leader's decisions (dispatchView → pick) and whole dispatch calls while `on`. */
const instrument = (g: Gateway): { decisions: Samples, starts: Samples, views: Samples, picks: Samples, viewCalls: Samples, dispatches: Samples, on: boolean } => {
  const probe = { decisions: new Samples(), starts: new Samples(), views: new Samples(), picks: new Samples(), viewCalls: new Samples(), dispatches: new Samples(), on: false }
  const leader = g.leader
  let t0 = 0
  const view = leader.dispatchView.bind(leader)
  leader.dispatchView = (m: Manifest) => { t0 = performance.now(); return view(m) }
  const cluster = leader.cluster
  let tView = 0
  // The dispatch reads the transient view, other callers the copy: both are timed.
  for (const k of ['view', 'transientView'] as const) {
    const inner = cluster[k].bind(cluster)
    cluster[k] = () => {
      const s = performance.now()
      const v = inner()
      tView = performance.now()
      if (probe.on) probe.viewCalls.push((tView - s) * 1000)
      return v
    }
  }
  const balance = leader['d'].balance as { pick: BalancePolicy['pick'] }
  const pick = balance.pick.bind(balance)
  balance.pick = (v, fn, rng) => {
    const p0 = performance.now()
    const out = pick(v, fn, rng)
    const end = performance.now()
    if (probe.on) { probe.decisions.push((end - t0) * 1000); probe.starts.push(t0); probe.views.push((tView - t0) * 1000); probe.picks.push((end - p0) * 1000) }
    return out
  }
  // The leader's whole synchronous work for one accepted invocation: the overload check, the
  // in-flight entry (and its store write queued), the decision, the run message encoded and handed to the broker.
  const begin = leader['begin'].bind(leader)
  leader['begin'] = (inv, now) => {
    const s = performance.now()
    begin(inv, now)
    if (probe.on) probe.dispatches.push((performance.now() - s) * 1000)
  }
  return probe
}

/** The decisions' tail, and how many of the slowest 1 % overlap a GC pause (`gcs`: [start, end] ms). */
const tail = (us: number[], starts: number[], gcs: ReadonlyArray<[number, number]>): string => {
  const order = us.map((_, i) => i).sort((a, b) => us[b]! - us[a]!)
  const slow = order.slice(0, Math.max(1, Math.floor(us.length / 100)))
  const inGc = slow.filter((i) => { const s = starts[i]!; const e = s + us[i]! / 1000; return gcs.some(([a, b]) => a < e && b > s) }).length
  const q = (p: number): string => quantile(us, p).toFixed(2)
  return `decision tail: p50 ${q(0.5)} p90 ${q(0.9)} p99 ${q(0.99)} p99.9 ${q(0.999)} max ${q(1)} µs (${us.length}); slowest 1 %: ${slow.length}, ${inGc} overlap a GC (${gcs.length} GCs in the phase)`
}

const main = async (): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-scale-bench-'))
  const gw = await startGateway({ dataDir: dir, mqttPort: await freePort(), httpPort: null, log: silentLogger })
  const fleets: ChildProcess[] = []
  let boards = 0
  let load: LoadClient | null = null
  try {
    const t0 = performance.now()
    const names = Array.from({ length: FNS }, (_, i) => `fn${i}`)
    for (const name of names) {
      const code = `export async function handler () { return ${JSON.stringify(name)} }`
      await publishDeployment(gw.transport, gw.topics, buildManifest(name, code, { timeout_ms: 5000 }), code)
    }
    await until(() => gw.registry.list().length === FNS, 60_000, 'the registry to hold every function')
    log(`deployed ${FNS} functions in ${((performance.now() - t0) / 1000).toFixed(1)} s`)

    // Gossip at the broker: every state PUBLISH a board sends.
    const aedes = gw.broker!.aedes
    const gossip = { msgs: 0, bytes: 0 }
    aedes.on('publish', (packet, client) => {
      if (client !== null && packet.topic.endsWith('/state')) { gossip.msgs++; gossip.bytes += packet.payload.length }
    })
    const probe = instrument(gw)
    // GC pauses (start, end in performance.now() ms), to tell a GC in a timed decision from other causes of its tail.
    const gcs: Array<[number, number]> = []
    const gcObserver = new PerformanceObserver((list) => { for (const e of list.getEntries()) gcs.push([e.startTime, e.startTime + e.duration]) })
    gcObserver.observe({ entryTypes: ['gc'] })
    load = await LoadClient.connect(gw.url, 'scale')
    const rng = seededRng(16)
    const results: SizeResult[] = []
    let capacity = NaN
    for (const size of SIZES) {
      if (DISPATCH_ONLY && size !== SIZES[SIZES.length - 1]) continue
      fleets.push(await startFleet({ url: gw.url, first: boards + 1, n: size - boards, profiles: [...SIM_PROFILES], coldMs: 20, gossipMs: GOSSIP_MS, slots: 8 }))
      boards = size
      log(`${size} boards connected`)
      await until(() => gw.leader.cluster.view().boards.filter((b) => b.routable).length === size, 60_000, `${size} boards to be routable`)
      // Warm-up: a few seconds of load so functions get warm somewhere and gossip carries them.
      const runFor = async (seconds: number): Promise<void> => {
        const start = performance.now()
        let sent = 0
        while (performance.now() - start < seconds * 1000) {
          const due = Math.floor((performance.now() - start) / 1000 * RATE)
          for (; sent < due; sent++) load!.send(names[Math.floor(rng() * FNS)]!, { n: sent })
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
      }
      log(`${size} boards routable; warming up`)
      await runFor(3)
      await load.settle(15_000)
      const before = new Set(load.outcomes.keys())
      probe.decisions.clear()
      probe.starts.clear()
      gcs.length = 0
      probe.dispatches.clear()
      probe.views.clear()
      probe.picks.clear()
      probe.viewCalls.clear()
      probe.on = true
      gossip.msgs = 0; gossip.bytes = 0
      const cold0 = await coldRuns(fleets)
      log(`measuring for ${LOAD_SECONDS} s`)
      const g0 = performance.now()
      await runFor(LOAD_SECONDS)
      const gossipSecs = (performance.now() - g0) / 1000
      const gm = gossip.msgs / gossipSecs; const gb = gossip.bytes / gossipSecs
      probe.on = false
      const decisions = probe.decisions.values()
      const dispatches = probe.dispatches.values()
      const viewCalls = probe.viewCalls.values()
      await load.settle(20_000)
      const s = load.stats((o) => !before.has(o.id))
      const r: SizeResult = {
        boards: size,
        decisionP50Us: quantile(decisions, 0.5), decisionP99Us: quantile(decisions, 0.99), decisions: decisions.length,
        dispatchP50Us: quantile(dispatches, 0.5), dispatchP99Us: quantile(dispatches, 0.99),
        viewP50Us: quantile(viewCalls, 0.5), viewP99Us: quantile(viewCalls, 0.99),
        gossipMsgsPerS: gm, gossipBytesPerS: gb, gossipMeanBytes: gossip.msgs > 0 ? gossip.bytes / gossip.msgs : 0, brokerMsgsPerS: NaN,
        sent: s.sent, ok: s.ok, failures: s.sent - s.ok, invokeP50Ms: s.p50Ms, invokeP99Ms: s.p99Ms, cold: await coldRuns(fleets) - cold0
      }
      results.push(r)
      log(`${size} boards: decision p50 ${r.decisionP50Us.toFixed(2)} µs p99 ${r.decisionP99Us.toFixed(2)} µs (${r.decisions}; boards view p50 ${quantile(probe.views.values(), 0.5).toFixed(2)} µs, pick p50 ${quantile(probe.picks.values(), 0.5).toFixed(2)} µs; any view call p50 ${r.viewP50Us.toFixed(2)} p99 ${r.viewP99Us.toFixed(2)} µs); whole admission p50 ${r.dispatchP50Us.toFixed(1)} µs p99 ${r.dispatchP99Us.toFixed(1)} µs; ` +
        `gossip ${gm.toFixed(0)} msg/s ${(gb / 1024).toFixed(1)} KiB/s (mean ${r.gossipMeanBytes.toFixed(0)} B); invoke p50 ${s.p50Ms.toFixed(1)} ms p99 ${s.p99Ms.toFixed(1)} ms; ${r.failures} failed of ${s.sent} ${JSON.stringify(s.codes)}; cold ${r.cold}`)
      if (DISPATCH_ONLY) log(tail(decisions, probe.starts.values(), gcs))
    }
    gcObserver.disconnect()
    if (DISPATCH_ONLY) return
    // Capacity of this broker on this machine, with the 1,000 boards still connected and gossiping.
    const mean = results[results.length - 1]!.gossipMeanBytes
    capacity = await brokerCapacity(gw.url, Math.max(64, Math.round(mean)))
    log(`broker capacity: ${capacity.toFixed(0)} msg/s of ${Math.round(mean)} B (${(capacity * mean / 1024 / 1024).toFixed(1)} MiB/s)`)

    const figures: Figure[] = []
    for (const r of results) {
      const share = r.gossipMsgsPerS / capacity
      figures.push(
        figure({ figure: `live leader dispatch decision p50, ${r.boards} stub boards × ${FNS} functions`, value: r.decisionP50Us, unit: 'µs', baseline: null, baseline_value: null, goal: '<= 10', met: r.decisionP50Us <= 10 }),
        figure({ figure: `live leader dispatch decision p99, ${r.boards} stub boards × ${FNS} functions`, value: r.decisionP99Us, unit: 'µs', baseline: null, baseline_value: null, goal: '<= 10', met: r.decisionP99Us <= 10 }),
        info({ figure: `leader's whole work per accepted invocation p50 (overload check, in-flight entry, decision, run message handed to the broker), ${r.boards} boards`, value: r.dispatchP50Us, unit: 'µs', baseline: null, baseline_value: null }),
        info({ figure: `leader's whole work per accepted invocation p99, ${r.boards} boards`, value: r.dispatchP99Us, unit: 'µs', baseline: null, baseline_value: null }),
        info({ figure: `ClusterState.view p99 (any call: where gossip since the last call is folded in), ${r.boards} boards`, value: r.viewP99Us, unit: 'µs', baseline: null, baseline_value: null }),
        figure({ figure: `gossip share of broker capacity (msgs/s), ${r.boards} boards gossiping every ${GOSSIP_MS} ms`, value: share * 100, unit: '%', baseline: `broker capacity measured in this run (${Math.round(capacity)} msg/s); the value is gossip msg/s over it`, baseline_value: null, goal: '<= 10', met: share <= 0.1 }),
        info({ figure: `gossip bytes at the broker, ${r.boards} boards`, value: r.gossipBytesPerS / 1024, unit: 'KiB/s', baseline: null, baseline_value: null }),
        info({ figure: `gossip messages at the broker, ${r.boards} boards`, value: r.gossipMsgsPerS, unit: 'msg/s', baseline: null, baseline_value: null }),
        info({ figure: `invocation p50 at ${RATE}/s, ${r.boards} boards`, value: r.invokeP50Ms, unit: 'ms', baseline: null, baseline_value: null, failures: r.failures }),
        info({ figure: `invocation p99 at ${RATE}/s, ${r.boards} boards`, value: r.invokeP99Ms, unit: 'ms', baseline: null, baseline_value: null, failures: r.failures })
      )
    }
    figures.push(info({ figure: 'broker capacity: QoS 0 messages of the mean gossip size, 4 publishers → aedes → 1 subscriber on 127.0.0.1', value: capacity, unit: 'msg/s', baseline: null, baseline_value: null }))
    writeResult('scale', figures, { functions: FNS, gossip_ms: GOSSIP_MS, rate_per_s: RATE, load_seconds: LOAD_SECONDS, sizes: results })
  } finally {
    await load?.close()
    for (const f of fleets) await stopFleet(f)
    await gw.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
process.exit(0)
