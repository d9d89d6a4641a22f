import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { loadProfiles } from '../../boards/index.js'
import { Topics } from '../protocol/topics.js'
import { systemClock } from '../shared/clock.js'
import type { Logger } from '../shared/log.js'
import { seededRng } from '../shared/rng.js'
import { AedesTransport } from '../transport/aedes-transport.js'
import { MqttTransport } from '../transport/mqtt-transport.js'
import type { Transport } from '../transport/transport.js'
import { startBroker, type EmbeddedBroker } from './broker.js'
import { Leader, type LeaderOptions } from './leader.js'
import { createPolicySet } from './policies/policy-sets.js'
import { createPowerGate, type PowerGateOptions as PowerPolicyOptions } from './policies/power-gate.js'
import { ControlLoop } from './control-loop.js'
import { PowerController } from './power-controller.js'
import { PowerGate, type GpioPin } from '../../node-firmware-bridge/index.js'
import { Registry } from './registry.js'
import { ClusterStatus } from './cluster-status.js'
import { WispError } from '../shared/errors.js'
import { brokerAuth, type BrokerUser } from './broker-auth.js'
import { InflightStore } from './inflight-store.js'
import { BrokerSessions } from './broker-sessions.js'
import { acceptBeforePuback } from './accept-hook.js'
import type { InboundMessage } from '../transport/transport.js'

export interface GatewayOptions {
  readonly dataDir: string
  readonly mqttPort: number
  readonly mqttHost?: string
  /** Cluster status page; null = none. */
  readonly httpPort?: number | null
  readonly httpHost?: string
  /** Accounts of the embedded broker; none = anonymous access. */
  readonly users?: Readonly<Record<string, BrokerUser>>
  /** Use an external broker (Mosquitto, EMQX, …) instead of the embedded aedes. */
  readonly brokerUrl?: string
  readonly topicPrefix?: string
  readonly leader?: Partial<LeaderOptions>
  /** Policy set (runtime/leader/policies/policy-sets.ts); default `wisp`. */
  readonly policy?: string
  /** Overrides of the power-gating policy (idle threshold, dwell, interval). */
  readonly powerPolicy?: Partial<PowerPolicyOptions>
  /** One relay per gateable board: the GPIO line that powers it. */
  readonly relays?: ReadonlyMap<string, { pin: GpioPin, activeLow: boolean, profile: string }>
  readonly log: Logger
}

export interface Gateway {
  readonly url: string
  readonly transport: Transport
  readonly topics: Topics
  readonly leader: Leader
  readonly registry: Registry
  readonly power: PowerController
  readonly broker: EmbeddedBroker | null
  /** The cluster page, when served. */
  readonly statusUrl: string | null
  close: () => Promise<void>
}

/**
 * Real boards boot in 20-30 s and their SD cards should not be power-cycled every few seconds:
 * live, a board is gated only after a minute idle and stays on or off for minutes. (The
 * simulator's evaluation uses the policy's own, more aggressive defaults.)
 */
export const LIVE_POWER_DEFAULTS = Object.freeze({ idleMs: 60_000, dwellMs: 120_000, maxMinOnMs: 300_000 })

/** Composition root of the gateway process: broker (embedded or external), registry, leader. */
export const startGateway = async (o: GatewayOptions): Promise<Gateway> => {
  const topics = new Topics(o.topicPrefix)
  const profiles = loadProfiles()
  // First, before any port is bound: a second gateway on the same data folder stops here, in words.
  const inflightDir = join(o.dataDir, 'inflight')
  mkdirSync(inflightDir, { recursive: true })
  const store = await InflightStore.open(inflightDir, o.log)
  let sessions: BrokerSessions | null = null
  // Invokes that reach the broker before the leader has recovered wait for it (they are not yet PUBACKed).
  let leaderUp: (l: Leader) => void = () => {}
  const started = new Promise<Leader>((resolve) => { leaderUp = resolve })
  const admit = async (m: InboundMessage): Promise<void> => { await (await started).admit(m) }
  let broker: EmbeddedBroker | null = null
  let transport: Transport
  try {
    if (o.brokerUrl === undefined) {
      const users = o.users !== undefined && Object.keys(o.users).length > 0 ? brokerAuth(o.users, topics) : undefined
      const auth = { ...users, authorizePublish: acceptBeforePuback(topics, () => admit, users?.authorizePublish) }
      const sessionsDir = join(o.dataDir, 'sessions')
      mkdirSync(sessionsDir, { recursive: true })
      sessions = await BrokerSessions.open(sessionsDir, o.log)
      broker = await startBroker({ port: o.mqttPort, host: o.mqttHost, log: o.log, auth, sessions })
      transport = new AedesTransport(broker.aedes)
    } else {
      transport = await MqttTransport.open({ url: o.brokerUrl, clientId: `wisp-leader-${process.pid}`, reconnect: true })
    }
  } catch (err) {
    await sessions?.close()
    await store.close()
    throw err
  }
  const registryDir = join(o.dataDir, 'registry')
  mkdirSync(registryDir, { recursive: true })
  const registry = new Registry(registryDir, transport, topics, o.log)
  await registry.start()
  const base = createPolicySet(o.policy ?? 'wisp')
  const set = base.power.name !== 'none' ? { ...base, power: createPowerGate({ ...LIVE_POWER_DEFAULTS, ...o.powerPolicy }) } : base
  const rng = seededRng(Date.now() >>> 0)
  const leader = new Leader({ transport, topics, registry, profiles, log: o.log, clock: systemClock, rng, balance: set.balance, options: o.leader, store, invokesByHook: broker !== null })
  const power = new PowerController(leader, o.log)
  for (const [id, r] of o.relays ?? []) {
    const profile = profiles.get(r.profile)
    if (profile === undefined || !profile.gateable) continue
    const gate = new PowerGate({ id, pin: r.pin, activeLow: r.activeLow, clock: systemClock, profile, ports: power.ports(id), log: o.log })
    await gate.init()
    power.add(id, gate)
  }
  leader.onStarved = () => power.wakeForDemand((id) => leader.cluster.get(id)?.profile)
  leader.onStale = (id) => { void power.lost(id) }
  await leader.start()
  leaderUp(leader)
  const loop = new ControlLoop(leader, set, rng, (o.relays?.size ?? 0) > 0 ? power : null, o.log)
  loop.start()
  const status = new ClusterStatus(leader, o.log)
  let statusUrl: string | null = null
  if (o.httpPort !== null && o.httpPort !== undefined) {
    try {
      statusUrl = (await status.start(o.httpHost ?? '0.0.0.0', o.httpPort)).url
    } catch (err) {
      await leader.stop(); await transport.close(); await registry.close(); await broker?.close(); await sessions?.close(); await store.close()
      throw new WispError('WISP_BAD_CONFIG', `cannot serve the cluster page on port ${o.httpPort} (${(err as Error).message}); choose another with --http-port`)
    }
  }
  return {
    url: broker?.url ?? (o.brokerUrl as string),
    transport, topics, leader, registry, broker, statusUrl, power,
    close: async () => {
      loop.stop()
      power.close()
      await status.close()
      await leader.stop()
      await transport.close()
      await registry.close()
      await broker?.close()
      await sessions?.close()
      await store.close()
    }
  }
}
