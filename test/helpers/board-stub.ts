import mqtt, { type MqttClient } from 'mqtt'
import { DONE_STATE_MS } from '../../runtime/agent/agent.js'
import { newIncarnation } from '../../runtime/protocol/incarnation.js'
import { encode, parseRun, type BoardState, type DoneMessage, type FunctionStats, type Receipt, type RunMessage } from '../../runtime/protocol/messages.js'
import { Topics } from '../../runtime/protocol/topics.js'

export interface BoardStubOptions {
  readonly url: string
  /** Board id, also the MQTT client id (and the account name when `password` is given). */
  readonly id: string
  readonly profile: string
  /** The agents' gossip period (boards/schema.ts `gossip_ms` default: 1000). */
  readonly gossipMs?: number
  /** Runs at once; the rest wait in a FIFO queue. */
  readonly slots?: number
  /** Modelled run time of one invocation of `fn` (ms); no isolate runs. */
  readonly runMs: (fn: string) => number
  /** Extra time for the first run of a function that is not warm (ms). */
  readonly coldMs?: number
  /** Warm functions kept (and gossiped) at most; the least recently used one is evicted. */
  readonly warmLimit?: number
  /** Per-function queue bound the board announces (`queue_limit`). */
  readonly queueLimit?: number
  /** An account's password (username = board id); none in open mode. */
  readonly password?: string
  readonly topics?: Topics
}

interface Warm { queued: number, running: number, done: number, runMs: number }
interface Job { run: RunMessage, receivedAt: number, cold: boolean }

/**
 * A board without isolates that speaks the real protocol: one mqtt.js client per board (the
 * broker binds a board's identity to its client id and account: runtime/leader/broker-acl.ts),
 * a retained `state` on start and a Last Will, `state` gossip every gossipMs (first one at a
 * random phase, as boards booted at different times), and a `done` with a receipt for each
 * `run` after a modelled run time, with its state piggybacked as the agent does (DONE_STATE_MS).
 * It does not subscribe to manifests or code: the run message names what to run.
 */
export class BoardStub {
  /** Runs answered, and runs received for a function that was not warm. */
  answered = 0
  cold = 0
  private readonly topics: Topics
  private readonly warm = new Map<string, Warm>()
  private readonly queue: Job[] = []
  private running = 0
  private seq = 0
  private doneInWindow = 0
  private windowStart = performance.now()
  private piggybacked = { at: -Infinity, busy: false, warm: -1 }
  private gossipTimer: ReturnType<typeof setTimeout> | null = null
  private stopped = false

  private constructor (private readonly o: BoardStubOptions, private readonly client: MqttClient, readonly incarnation: string) {
    this.topics = o.topics ?? new Topics()
  }

  static async start (o: BoardStubOptions): Promise<BoardStub> {
    const topics = o.topics ?? new Topics()
    const incarnation = newIncarnation()
    const will = { v: 1, id: o.id, incarnation, status: 'offline', ts: Date.now() }
    const client = await mqtt.connectAsync(o.url, {
      clientId: o.id,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 30_000,
      keepalive: 60,
      ...(o.password !== undefined ? { username: o.id, password: o.password } : {}),
      will: { topic: topics.board(o.id, 'state'), payload: encode(will), qos: 1, retain: true }
    })
    const stub = new BoardStub(o, client, incarnation)
    client.on('message', (topic, payload) => { stub.onMessage(topic, payload) })
    await client.subscribeAsync(topics.board(o.id, 'run'), { qos: 1 })
    await client.subscribeAsync(topics.board(o.id, 'control'), { qos: 1 })
    await client.publishAsync(topics.board(o.id, 'state'), encode(stub.state()), { qos: 1, retain: true })
    const period = o.gossipMs ?? 1000
    const tick = (): void => {
      if (stub.stopped) return
      stub.gossip()
      stub.gossipTimer = setTimeout(tick, period)
    }
    stub.gossipTimer = setTimeout(tick, Math.random() * period)
    return stub
  }

  get id (): string { return this.o.id }

  state (): BoardState {
    const now = performance.now()
    const secs = Math.max(0.001, (now - this.windowStart) / 1000)
    const functions: Record<string, FunctionStats> = {}
    let workMs = 0
    for (const [fn, w] of this.warm) {
      functions[fn] = { queue_len: w.queued, service_rate: round(w.done / secs), running: w.running, runtimes: 1 }
      workMs += (w.queued + w.running) * w.runMs
    }
    return {
      v: 1,
      id: this.o.id,
      incarnation: this.incarnation,
      profile: this.o.profile,
      status: this.stopped ? 'draining' : 'online',
      ts: Date.now(),
      seq: ++this.seq,
      power_w: 2,
      energy_j: 0,
      queue_len: this.queue.length,
      service_rate: round(this.doneInWindow / secs),
      functions,
      mem_mb: 64 + 16 * this.warm.size,
      power_source: 'surrogate',
      work_ms: round(workMs),
      work_runs: this.queue.length + this.running,
      queue_limit: this.o.queueLimit ?? 256
    }
  }

  async stop (): Promise<void> {
    this.stopped = true
    if (this.gossipTimer !== null) clearTimeout(this.gossipTimer)
    const offline = { v: 1, id: this.o.id, incarnation: this.incarnation, status: 'offline', ts: Date.now() }
    await this.client.publishAsync(this.topics.board(this.o.id, 'state'), encode(offline), { qos: 1, retain: true }).catch(() => {})
    await this.client.endAsync(true)
  }

  private gossip (): void {
    this.client.publish(this.topics.board(this.o.id, 'state'), encode(this.state()), { qos: 0 })
    for (const w of this.warm.values()) w.done = 0
    this.doneInWindow = 0
    this.windowStart = performance.now()
  }

  private onMessage (topic: string, payload: Buffer): void {
    if (topic !== this.topics.board(this.o.id, 'run')) return // control: a stub is never drained or gated
    let run: RunMessage
    try { run = parseRun(payload) } catch { return }
    let w = this.warm.get(run.fn)
    const cold = w === undefined
    if (w === undefined) {
      w = { queued: 0, running: 0, done: 0, runMs: this.o.runMs(run.fn) }
      this.cold++
      this.evict()
    } else this.warm.delete(run.fn) // re-inserted last: the map's order is least recently used first
    this.warm.set(run.fn, w)
    w.queued++
    this.queue.push({ run, receivedAt: performance.now(), cold })
    this.next()
  }

  private evict (): void {
    const limit = this.o.warmLimit ?? 16
    for (const [fn, w] of this.warm) {
      if (this.warm.size < limit) return
      if (w.queued === 0 && w.running === 0) this.warm.delete(fn)
    }
  }

  private next (): void {
    while (this.running < (this.o.slots ?? 4) && this.queue.length > 0) {
      const job = this.queue.shift() as Job
      const w = this.warm.get(job.run.fn) as Warm
      w.queued--
      w.running++
      this.running++
      const startedAt = performance.now()
      const runMs = w.runMs + (job.cold ? this.o.coldMs ?? 0 : 0)
      setTimeout(() => { this.finish(job, w, startedAt, runMs) }, runMs)
    }
  }

  private finish (job: Job, w: Warm, startedAt: number, runMs: number): void {
    w.running--
    w.done++
    this.running--
    this.doneInWindow++
    this.answered++
    const now = performance.now()
    const receipt: Receipt = {
      request_id: job.run.request_id, function: job.run.fn, board: this.o.id, attempt: job.run.attempt, cold: job.cold,
      queue_ms: round(startedAt - job.receivedAt), run_ms: round(runMs), total_ms: round(now - job.receivedAt), energy_mj: round(runMs * 2), power_w: 2
    }
    const done: DoneMessage = { v: 1, invocation: job.run.invocation, attempt: job.run.attempt, reply: { ok: true, result: { board: this.o.id }, receipt }, state: this.stateForDone(now) }
    this.client.publish(this.topics.board(this.o.id, 'done'), encode(done), { qos: 1 })
    this.next()
  }

  /** As the agent: a state rides on a done when it says something new, or the last one is DONE_STATE_MS old. */
  private stateForDone (now: number): BoardState | undefined {
    const busy = this.running > 0 || this.queue.length > 0
    const last = this.piggybacked
    if (now - last.at < DONE_STATE_MS && busy === last.busy && this.warm.size === last.warm) return undefined
    this.piggybacked = { at: now, busy, warm: this.warm.size }
    return this.state()
  }
}

const round = (x: number): number => Math.round(x * 100) / 100

/** Starts `n` stubs `b<first>`…`b<first+n-1>` (profiles in turn), `parallel` connects at a time. */
export const startStubs = async (n: number, o: Omit<BoardStubOptions, 'id' | 'profile'> & { profiles: readonly string[], parallel?: number, first?: number }): Promise<BoardStub[]> => {
  const stubs: BoardStub[] = []
  const ids = Array.from({ length: n }, (_, i) => i + (o.first ?? 1))
  const width = o.parallel ?? 50
  try {
    for (let i = 0; i < ids.length; i += width) {
      stubs.push(...await Promise.all(ids.slice(i, i + width).map(async (k) =>
        await BoardStub.start({ ...o, id: `b${k}`, profile: o.profiles[(k - 1) % o.profiles.length] as string }))))
    }
  } catch (err) {
    await Promise.all(stubs.map(async (s) => await s.stop()))
    throw err
  }
  return stubs
}
