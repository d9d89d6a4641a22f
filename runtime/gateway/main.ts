import { Writable } from 'node:stream'
import { writeNextAtOnce } from '../transport/batch-writes.js'
import { mkdirSync } from 'node:fs'
import { withCap } from '../leader/policies/power-cap.js'
import { GreenState } from '../leader/green/green-state.js'
import type { GreenSetup } from '../leader/green/green-config.js'
import { join } from 'node:path'
import { loadProfiles } from '../../boards/index.js'
import { Topics } from '../protocol/topics.js'
import { systemClock, type Clock } from '../shared/clock.js'
import type { Logger } from '../shared/log.js'
import { seededRng } from '../shared/rng.js'
import { AedesTransport } from '../transport/aedes-transport.js'
import { MqttTransport } from '../transport/mqtt-transport.js'
import type { Transport } from '../transport/transport.js'
import { startBroker, type BrokerTls, type EmbeddedBroker } from '../leader/broker.js'
import { Leader, type LeaderOptions } from '../leader/leader.js'
import { createPolicySet } from '../leader/policies/policy-sets.js'
import { createPowerGate, LIVE_POWER_DEFAULTS, type PowerGateOptions as PowerPolicyOptions } from '../leader/policies/power-gate.js'
import { ControlLoop } from '../leader/control-loop.js'
import { PowerController } from '../leader/power-controller.js'
import { PowerGate, type GpioPin } from '../../node-firmware-bridge/index.js'
import { Registry } from '../leader/registry.js'
import { TriggerRunner } from '../leader/triggers.js'
import { AdminService } from '../leader/admin.js'
import { ClusterStatus } from '../status/cluster-status.js'
import { WispError } from '../shared/errors.js'
import { brokerAuth, type BrokerUser } from '../leader/broker-auth.js'
import { checkListeners } from './listeners.js'
import { InflightStore, type InflightStorage } from '../leader/inflight-store.js'
import type { PendingInvokes } from '../leader/pending-invokes.js'
import { KvStore } from '../leader/kv-store.js'
import type { KvStorage } from '../leader/kv-storage.js'
import { openSecrets } from '../leader/secret-store.js'
import type { SecretStorage } from '../leader/secret-storage.js'
import type { HistoryStorage } from '../leader/history-storage.js'
import type { LogMirror } from '../leader/log-ring.js'
import { CapServer } from '../leader/cap-server.js'
import { BrokerSessions } from '../leader/broker-sessions.js'
import { acceptBeforePuback, type Acceptors } from '../leader/accept-hook.js'
import { limitPublishSize } from '../leader/broker-limits.js'
import type { InboundMessage } from '../transport/transport.js'
import { HttpInvoker } from '../http/invoker.js'
import { startInvokeServer, type InvokeServer } from '../http/invoke-server.js'

export interface GatewayOptions {
  readonly dataDir: string
  readonly mqttPort: number
  /** Interface of the embedded broker; default 127.0.0.1. Any other needs `users`. */
  readonly mqttHost?: string
  /** An mqtts:// listener of the embedded broker (certificate and key in PEM). */
  readonly tls?: BrokerTls
  /** Cluster status page; null = none. */
  readonly httpPort?: number | null
  /** Interface of the cluster page; default 127.0.0.1. Any other needs `users` (or an external broker). */
  readonly httpHost?: string
  /** Host names the cluster page answers to besides localhost, this machine's name and IP literals (DNS rebinding). */
  readonly httpAllowedHosts?: readonly string[]
  /** HTTP invokes (`POST /function/<fn>`, `/async-function/<fn>`); null = none (the default). */
  readonly invokePort?: number | null
  /** Interface of the HTTP invokes; default 127.0.0.1. Any other needs `users`. */
  readonly invokeHost?: string
  /** Accounts of the embedded broker (and of HTTP invokes); none = open mode, loopback only. */
  readonly users?: Readonly<Record<string, BrokerUser>>
  /** Use an external broker (Mosquitto, EMQX, …) instead of the embedded aedes. */
  readonly brokerUrl?: string
  /** The leader's admin account on the external broker. */
  readonly brokerUsername?: string
  readonly brokerPassword?: string
  /** PEM CA certificate(s) to trust for an mqtts:// external broker. */
  readonly brokerCa?: string
  readonly topicPrefix?: string
  readonly leader?: Partial<LeaderOptions>
  /** Policy set (runtime/leader/policies/policy-sets.ts); default `wisp`. */
  readonly policy?: string
  /** Overrides of the power-gating policy (idle threshold, dwell, interval). */
  readonly powerPolicy?: Partial<PowerPolicyOptions>
  /** Carbon signals and prices (gateway config `green`); absent = intensity 0, free. */
  readonly green?: GreenSetup
  /** One relay per gateable board: the GPIO line that powers it. */
  readonly relays?: ReadonlyMap<string, { pin: GpioPin, activeLow: boolean, profile: string }>
  readonly log: Logger
  /**
   * Times the leader, the registry's grace period, the control loop and the power gates; the
   * system clock unless given (tests drive a manual one).
   */
  readonly clock?: Clock
  /**
   * Clustered (clustered.ts): the leader role on a broker the caller runs and keeps, with the
   * shared in-flight store, this leader's fencing token and the invokes brokers took for it.
   */
  readonly attached?: AttachedBroker
}

export interface AttachedBroker {
  readonly broker: EmbeddedBroker
  readonly store: InflightStorage
  readonly fence: number
  readonly pending: PendingInvokes
  /** The shared `context.kv`, secrets and version histories (Redis, this term's fencing token). */
  readonly kv: KvStorage
  readonly secrets: () => Promise<SecretStorage>
  readonly histories: HistoryStorage
  readonly logs: LogMirror
}

export interface Gateway {
  readonly url: string
  readonly transport: Transport
  readonly topics: Topics
  readonly leader: Leader
  readonly registry: Registry
  readonly triggers: TriggerRunner
  /** Admin requests (deploy acknowledgement, rollback, describe, ls, rm, logs). */
  readonly admin: AdminService
  readonly power: PowerController
  readonly broker: EmbeddedBroker | null
  /** The cluster page, when served. */
  readonly statusUrl: string | null
  /** Where HTTP invokes are served (`<url>function/<fn>`), when they are. */
  readonly invokeUrl: string | null
  /** Embedded broker without accounts: anonymous, and listening on loopback only. */
  readonly openMode: boolean
  close: () => Promise<void>
}

/**
 * Real boards boot in 20-30 s and their SD cards should not be power-cycled every few seconds:
 * live, a board is gated only after a minute idle and stays on or off for minutes. (The
 * simulator's evaluation uses the policy's own, more aggressive defaults.)
 */
export { LIVE_POWER_DEFAULTS }

/**
 * Clustered: invokes reach the leader from every gateway's broker by subscription, each cleared
 * from the pending set once the leader's table holds it; then what brokers took while no leader
 * was up (or the previous one died before storing) is admitted. Repeats are dropped as duplicates.
 */
const takeInvokes = async (leader: Leader, transport: Transport, topics: Topics, pending: PendingInvokes): Promise<void> => {
  const take = async (m: InboundMessage): Promise<void> => { await leader.admit(m); await pending.remove(m.topic) }
  await transport.subscribe(topics.invokeFilter, (m) => { void take(m) })
  for (const m of await pending.list()) await take(m)
}

/** Composition root of the gateway process: broker (embedded or external), registry, leader. */
export const startGateway = async (o: GatewayOptions): Promise<Gateway> => {
  const topics = new Topics(o.topicPrefix)
  const profiles = loadProfiles()
  const clock = o.clock ?? systemClock
  const hasUsers = o.users !== undefined && Object.keys(o.users).length > 0
  const openMode = o.brokerUrl === undefined && !hasUsers
  const mqttHost = o.mqttHost ?? '127.0.0.1'
  const httpHost = o.httpHost ?? '127.0.0.1'
  const invokeHost = o.invokeHost ?? '127.0.0.1'
  checkListeners(o)
  // First, before any port is bound: a second gateway on the same data folder stops here, in words.
  const att = o.attached
  const inflightDir = join(o.dataDir, 'inflight')
  mkdirSync(inflightDir, { recursive: true })
  const store: InflightStorage = att?.store ?? await InflightStore.open(inflightDir, o.log)
  // What the caller owns (clustered: the broker and the Redis store) it also closes.
  const closeStore = async (): Promise<void> => { if (att === undefined) await store.close(); else await store.durable() }
  const closeBroker = async (): Promise<void> => { if (att === undefined) await broker?.close() }
  const kvDir = join(o.dataDir, 'kv')
  if (att === undefined) mkdirSync(kvDir, { recursive: true })
  let kv: KvStorage
  try { kv = att?.kv ?? await KvStore.open(kvDir) } catch (err) { await closeStore(); throw err }
  let secrets: SecretStorage
  try { secrets = await (att?.secrets() ?? openSecrets(o.dataDir, o.log)) } catch (err) { await closeStore(); await kv.close(); throw err }
  let sessions: BrokerSessions | null = null
  // Invokes and trigger messages that reach the broker before the leader (or the trigger runner)
  // is up wait for it: they are not yet PUBACKed.
  let leaderUp: (l: Leader) => void = () => {}
  const started = new Promise<Leader>((resolve) => { leaderUp = resolve })
  let triggersUp: (r: TriggerRunner) => void = () => {}
  const triggersStarted = new Promise<TriggerRunner>((resolve) => { triggersUp = resolve })
  const acceptors: Acceptors = {
    invoke: async (m: InboundMessage): Promise<void> => { await (await started).admit(m) },
    trigger: async (m: InboundMessage): Promise<void> => { await (await triggersStarted).accept(m) }
  }
  let broker: EmbeddedBroker | null = null
  let transport: Transport
  try {
    if (att !== undefined) {
      broker = att.broker
      // The registry's and the leader's retained inputs come from Redis; trigger topics' retained messages do not fire functions.
      const replay = new Set([topics.functionsFilter, `${topics.prefix}/code/+`, topics.boardFilter('state')])
      transport = new AedesTransport(broker.aedes, undefined, (f) => replay.has(f))
    } else if (o.brokerUrl === undefined) {
      const users = hasUsers && o.users !== undefined ? brokerAuth(o.users, topics) : undefined
      const auth = { ...users, authorizePublish: limitPublishSize(topics, acceptBeforePuback(topics, () => acceptors, users?.authorizePublish)) }
      const sessionsDir = join(o.dataDir, 'sessions')
      mkdirSync(sessionsDir, { recursive: true })
      sessions = await BrokerSessions.open(sessionsDir, o.log)
      broker = await startBroker({ port: o.mqttPort, host: mqttHost, log: o.log, auth, tls: o.tls, sessions })
      transport = new AedesTransport(broker.aedes)
    } else {
      transport = await MqttTransport.open({
        url: o.brokerUrl, clientId: `${o.brokerUsername ?? 'wisp-leader'}-${process.pid}`, username: o.brokerUsername, password: o.brokerPassword, ca: o.brokerCa, reconnect: true
      })
    }
  } catch (err) {
    await sessions?.close()
    await closeStore()
    await kv.close()
    await secrets.close()
    throw err
  }
  const registryDir = join(o.dataDir, 'registry')
  mkdirSync(registryDir, { recursive: true })
  const registry = new Registry(registryDir, transport, topics, o.log, { clock, republish: att === undefined, histories: att?.histories })
  await registry.start()
  const base = createPolicySet(o.policy ?? 'wisp')
  const gated = base.power.name === 'gate' ? { ...base, power: createPowerGate({ ...LIVE_POWER_DEFAULTS, ...o.powerPolicy }) } : base
  const green = new GreenState(o.green)
  // Demand response: a cap on `<prefix>/grid/cap` gates boards and holds deferrable work.
  const set = { ...gated, power: withCap(gated.power, () => green.capW) }
  const rng = seededRng(Date.now() >>> 0)
  // The leader publishes replies as admin: a Response Topic outside the prefix only where no account could be wronged.
  const anonymousBroker = o.brokerUrl !== undefined && o.brokerUsername === undefined
  const leader = new Leader({ transport, topics, registry, profiles, log: o.log, clock, rng, balance: set.balance, options: { replyOutsidePrefix: anonymousBroker, ...o.leader }, store, invokesByHook: broker !== null, green, fence: att?.fence, secrets: (fn) => secrets.env(fn) })
  const power = new PowerController(leader, o.log, clock)
  for (const [id, r] of o.relays ?? []) {
    const profile = profiles.get(r.profile)
    if (profile === undefined || !profile.gateable) continue
    const gate = new PowerGate({ id, pin: r.pin, activeLow: r.activeLow, clock, profile, ports: power.ports(id), log: o.log })
    await gate.init()
    power.add(id, gate)
  }
  // A reply's invocation is journalled as answered just before the broker writes it to a persistent
  // session; that write then leaves at once, not batched with the rest of the turn (batch-writes.ts).
  if (sessions !== null) {
    sessions.queues.onSend = (topic, client) => {
      const conn = (client as { conn?: unknown }).conn
      if (leader.replyWritten(topic) && conn instanceof Writable) writeNextAtOnce(conn)
    }
  }
  leader.onStarved = () => power.wakeForDemand((id) => leader.cluster.get(id)?.profile)
  leader.onStale = (id) => { void power.lost(id) }
  await leader.start()
  leaderUp(leader)
  if (att !== undefined) await takeInvokes(leader, transport, topics, att.pending)
  // Clustered, the shared broker's hook takes invokes only; trigger messages come by subscription.
  const triggersByHook = broker !== null && att === undefined
  const triggers = new TriggerRunner({ transport, topics, registry, leader, clock, log: o.log, byHook: triggersByHook })
  await triggers.start()
  triggersUp(triggers)
  const caps = new CapServer({ transport, topics, clock, log: o.log, kv, leader, ...(triggersByHook ? { published: async (m: InboundMessage) => await triggers.accept(m) } : {}) })
  await caps.start()
  const admin = new AdminService({ transport, topics, registry, secrets, leader, clock, log: o.log, logMirror: att?.logs })
  await admin.start()
  const loop = new ControlLoop(leader, set, rng, (o.relays?.size ?? 0) > 0 ? power : null, o.log, clock)
  loop.start()
  const status = new ClusterStatus(leader, o.log, (fn) => registry.get(fn) !== undefined, { functions: () => admin.functions(), redact: (fn, text) => admin.redact(fn, text) })
  let statusUrl: string | null = null
  if (o.httpPort !== null && o.httpPort !== undefined) {
    try {
      statusUrl = (await status.start(httpHost, o.httpPort, o.httpAllowedHosts)).url
    } catch (err) {
      await caps.stop(); await admin.stop(); await triggers.stop(); await leader.stop(); await transport.close(); await registry.close(); await closeBroker(); await sessions?.close(); await closeStore(); await kv.close(); await secrets.close()
      throw new WispError('WISP_BAD_CONFIG', `cannot serve the cluster page on port ${o.httpPort} (${(err as Error).message}); choose another with --http-port`)
    }
  }
  let invokeServer: InvokeServer | null = null
  const invoker = new HttpInvoker({ leader, registry, topics })
  if (o.invokePort !== null && o.invokePort !== undefined) {
    try {
      await invoker.start()
      invokeServer = await startInvokeServer({ host: invokeHost, port: o.invokePort, invoker, maxEventBytes: leader.opts.maxEventBytes, users: hasUsers ? o.users : undefined, allowedHosts: o.httpAllowedHosts, log: o.log })
    } catch (err) {
      await invoker.stop(); await status.close(); loop.stop(); power.close()
      await caps.stop(); await admin.stop(); await triggers.stop(); await leader.stop(); await transport.close(); await registry.close(); await closeBroker(); await sessions?.close(); await closeStore(); await kv.close(); await secrets.close()
      throw new WispError('WISP_BAD_CONFIG', `cannot serve HTTP invokes on port ${o.invokePort} (${(err as Error).message}); choose another invoke_port`)
    }
  }
  return {
    url: broker?.url ?? (o.brokerUrl as string),
    transport, topics, leader, registry, triggers, admin, broker, statusUrl, power, openMode,
    invokeUrl: invokeServer?.url ?? null,
    close: async () => {
      loop.stop()
      power.close()
      await invokeServer?.close()
      if (invokeServer !== null) await invoker.stop()
      await status.close()
      await caps.stop()
      await admin.stop()
      await triggers.stop()
      await leader.stop()
      await transport.close()
      await registry.close()
      await closeBroker()
      await sessions?.close()
      await closeStore()
      await kv.close()
      await secrets.close()
    }
  }
}
