import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import mqtt, { type MqttClient } from 'mqtt'
import { loadProfiles } from '../../boards/index.js'
import { startBroker, type EmbeddedBroker } from '../../runtime/leader/broker.js'
import { Leader, type LeaderOptions } from '../../runtime/leader/leader.js'
import type { InflightStorage } from '../../runtime/leader/inflight-store.js'
import type { BrokerSessions } from '../../runtime/leader/broker-sessions.js'
import { createPolicySet } from '../../runtime/leader/policies/policy-sets.js'
import type { BalancePolicy } from '../../runtime/leader/policies/types.js'
import { Registry, type RegistryOptions } from '../../runtime/leader/registry.js'
import { AdminService } from '../../runtime/leader/admin.js'
import { openSecrets } from '../../runtime/leader/secret-store.js'
import { encode, parseRun, type BoardState, type Reply } from '../../runtime/protocol/messages.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { every, systemClock, type Clock } from '../../runtime/shared/clock.js'
import { buildManifest, type DeployOptions } from '../../runtime/protocol/manifest.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { silentLogger, type Logger } from '../../runtime/shared/log.js'
import { seededRng } from '../../runtime/shared/rng.js'
import { AedesTransport } from '../../runtime/transport/aedes-transport.js'
import { TestClient } from './mqtt.js'

export const ECHO = 'export async function handler (event) { return event }'

/** The gateway's half of `wisp start` in this process: aedes on 127.0.0.1, registry, leader. */
export interface LeaderRig {
  readonly broker: EmbeddedBroker
  readonly transport: AedesTransport
  readonly topics: Topics
  readonly leader: Leader
  readonly registry: Registry
  /** The gateway's admin requests (what `wisp deploy`, `ls`, `rollback`… ask). */
  readonly admin: AdminService
  deploy: (fn: string, code?: string, opts?: DeployOptions) => Promise<void>
  close: () => Promise<void>
}

export const leaderRig = async (o: { options?: Partial<LeaderOptions>, log?: Logger, balance?: BalancePolicy, registry?: RegistryOptions, clock?: Clock, store?: InflightStorage, sessions?: BrokerSessions } = {}): Promise<LeaderRig> => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-rig-'))
  const log = o.log ?? silentLogger
  const broker = await startBroker({ port: 0, host: '127.0.0.1', log, ...(o.sessions === undefined ? {} : { sessions: o.sessions }) })
  const transport = new AedesTransport(broker.aedes)
  const topics = new Topics()
  const registry = new Registry(dir, transport, topics, log, { clock: o.clock, ...o.registry })
  await registry.start()
  const secretsDir = mkdtempSync(join(tmpdir(), 'wisp-rig-secrets-'))
  const secrets = await openSecrets(secretsDir, log)
  const leader = new Leader({
    transport, topics, registry, secrets: (fn) => secrets.env(fn), profiles: loadProfiles(), log, clock: o.clock ?? systemClock, rng: seededRng(1),
    balance: o.balance ?? createPolicySet('wisp').balance, options: o.options, ...(o.store === undefined ? {} : { store: o.store })
  })
  // As the gateway wires them (runtime/gateway/main.ts).
  if (o.sessions !== undefined) o.sessions.queues.onSend = (topic) => leader.replyWritten(topic)
  await leader.start()
  const admin = new AdminService({ transport, topics, registry, secrets, leader, clock: o.clock ?? systemClock, log })
  await admin.start()
  return {
    broker, transport, topics, leader, registry, admin,
    deploy: async (fn, code = ECHO, opts) => {
      const m = buildManifest(fn, code, opts)
      await publishDeployment(transport, topics, m, code)
      await until(() => registry.get(fn) !== undefined && JSON.stringify(registry.get(fn)) === JSON.stringify(m), 5000, `deploy of ${fn}`)
    },
    close: async () => {
      await admin.stop(); await leader.stop(); await transport.close(); await registry.close(); await broker.close(); await secrets.close()
      rmSync(dir, { recursive: true, force: true })
      rmSync(secretsDir, { recursive: true, force: true })
    }
  }
}

/**
 * For ManualClock.run: time moves on only once the leader has heard what each board last
 * gossiped (heard at the clock time it was sent, the clock being shared).
 */
export const gossipHeard = (leader: Leader, boards: ReadonlyArray<{ id: string, sentAt: () => number }>) => async (): Promise<void> => {
  await until(() => boards.every((b) => (leader.cluster.get(b.id)?.lastSeen ?? -Infinity) >= b.sentAt()), 5000, `the leader to hear ${boards.map((b) => b.id).join(', ')}`)
}

/** Polls a condition (bounded) instead of sleeping a fixed time. */
export const until = async (pred: () => boolean, timeoutMs: number, what: string): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

export const incarnationAt = (ms: number): string => `${ms.toString(36).padStart(9, '0')}-${randomBytes(4).toString('hex')}`

export const boardState = (id: string, incarnation: string, seq: number, over: Partial<BoardState> = {}): BoardState => ({
  v: 1, id, incarnation, profile: 'raspberry-pi-4b', status: 'online', ts: Date.now(), seq,
  power_w: 2.7, energy_j: 0, queue_len: 0, service_rate: 0, functions: {}, mem_mb: 0, power_source: 'surrogate', ...over
})

/**
 * A board that speaks the protocol over a real MQTT connection but runs nothing: it gossips
 * its state and answers every `run` with the event as its result (or not at all, when mute).
 * Its gossip is timed by `clock` (the system clock unless given); its incarnation is wall time.
 */
export class ScriptedBoard {
  private seq = 0
  private stopGossip: (() => void) | null = null
  readonly runs: Array<{ invocation: string, attempt: number, budgetMs: number }> = []
  mute = false
  /** What the board's gossip says beyond the defaults (a busy board's queue and running runs, say). */
  stateOver: () => Partial<BoardState> = () => ({})
  /** Clock time of the last gossip sent. */
  lastGossipAt = 0

  private constructor (readonly id: string, readonly incarnation: string, readonly client: MqttClient, private readonly clock: Clock, private readonly profile: string) {}

  static async start (url: string, id: string, gossipMs = 250, o: { clock?: Clock, profile?: string } = {}): Promise<ScriptedBoard> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, clientId: `scripted-${id}-${randomBytes(3).toString('hex')}` })
    const clock = o.clock ?? systemClock
    const b = new ScriptedBoard(id, incarnationAt(Date.now()), client, clock, o.profile ?? 'raspberry-pi-4b')
    await client.subscribeAsync(`wisp/boards/${id}/run`, { qos: 1 })
    client.on('message', (topic, payload) => { if (topic === `wisp/boards/${id}/run`) b.onRun(payload) })
    await b.gossip()
    b.stopGossip = every(clock, gossipMs, () => { void b.gossip() })
    return b
  }

  async gossip (): Promise<void> {
    this.lastGossipAt = this.clock.now()
    await this.client.publishAsync(`wisp/boards/${this.id}/state`, encode(boardState(this.id, this.incarnation, ++this.seq, { profile: this.profile, ...this.stateOver() })), { qos: 0 }).catch(() => {})
  }

  private onRun (payload: Buffer): void {
    const run = parseRun(payload)
    this.runs.push({ invocation: run.invocation, attempt: run.attempt, budgetMs: run.budget_ms })
    if (this.mute) return
    const reply: Reply = { ok: true, result: run.event }
    void this.client.publishAsync(`wisp/boards/${this.id}/done`, encode({ v: 1, invocation: run.invocation, attempt: run.attempt, reply }), { qos: 1 }).catch(() => {})
  }

  async close (): Promise<void> {
    this.stopGossip?.()
    await this.client.endAsync()
  }
}

/**
 * A rig with `echo` deployed, board b1 (scripted) joined and a client subscribed to `sub`:
 * the common start of the leader's attack and limit tests (leader and gossip on `clock` when given). Everything is closed at teardown.
 */
export const echoRigWithBoard = async (
  t: { teardown: (fn: () => unknown) => void }, sub: string, options?: Partial<LeaderOptions>, clock?: Clock
): Promise<{ rig: LeaderRig, b1: ScriptedBoard, client: TestClient }> => {
  const rig = await leaderRig({ options, clock })
  t.teardown(rig.close)
  await rig.deploy('echo')
  const b1 = await ScriptedBoard.start(rig.broker.url, 'b1', 250, { clock })
  t.teardown(() => b1.close())
  await until(() => rig.leader.cluster.routable('b1'), 5000, 'b1 to join')
  const client = await TestClient.connect(rig.broker.url)
  t.teardown(() => client.close())
  await client.sub(sub)
  return { rig, b1, client }
}
