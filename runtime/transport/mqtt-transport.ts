import type { Writable } from 'node:stream'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { WispError } from '../shared/errors.js'
import { HandlerTable, type Handler, type PublishOptions, type Transport } from './transport.js'
import { batchWrites } from './batch-writes.js'

export interface MqttTransportOptions {
  readonly url: string
  readonly clientId?: string
  readonly username?: string
  readonly password?: string
  /** PEM CA certificate(s) trusted for mqtts:// (default: the system's). */
  readonly ca?: string
  readonly keepaliveS?: number
  /** Preferred protocol level; 5 falls back to 4 when the broker refuses it (aedes speaks 3.1.1 only). */
  readonly protocolVersion?: 4 | 5
  readonly will?: { topic: string, payload: Buffer, retain: boolean, qos: 0 | 1 }
  readonly connectTimeoutMs?: number
  /** Reconnect automatically after a lost connection (agents do; one-shot CLI commands don't). */
  readonly reconnect?: boolean
  /**
   * false = a persistent session (MQTT 3.1.1 §3.1.2.4): with a stable clientId, QoS 1 messages
   * published while the connection is down wait at the broker for the reconnect. Default true.
   */
  readonly clean?: boolean
  /**
   * More brokers (mqtt:// or mqtts://, e.g. the other gateways of a cluster): connections go to
   * `url` and these in turn, the next one after each lost or refused connection (mqtt.js `servers`).
   */
  readonly fallbacks?: readonly string[]
}

/** mqtt.js `servers`: `url` first, then the fallbacks. */
export const serverList = (url: string, fallbacks: readonly string[]): Array<{ host: string, port: number, protocol: 'mqtt' | 'mqtts' }> =>
  [url, ...fallbacks].map((raw) => {
    const u = new URL(raw)
    const protocol = u.protocol === 'mqtts:' ? 'mqtts' : 'mqtt'
    return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port === '' ? (protocol === 'mqtts' ? 8883 : 1883) : Number(u.port), protocol }
  })

const connect = async (o: MqttTransportOptions, protocolVersion: 4 | 5): Promise<MqttClient> => {
  const opts: IClientOptions = {
    protocolVersion,
    clientId: o.clientId,
    username: o.username,
    password: o.password,
    keepalive: o.keepaliveS ?? 30,
    connectTimeout: o.connectTimeoutMs ?? 5000,
    reconnectPeriod: o.reconnect === true ? 1000 : 0,
    clean: o.clean ?? true,
    will: o.will,
    ...(o.fallbacks !== undefined && o.fallbacks.length > 0 ? { servers: serverList(o.url, o.fallbacks) } : {}),
    ...(o.ca !== undefined ? { ca: o.ca } : {})
  }
  const client = mqtt.connect(o.url, opts)
  noDelay(client)
  client.on('connect', () => noDelay(client))
  // With fallbacks (and reconnects), each broker is tried once before giving up.
  const tries = o.reconnect === true ? 1 + (o.fallbacks?.length ?? 0) : 1
  return await new Promise<MqttClient>((resolve, reject) => {
    let closes = 0
    let last: Error | null = null
    const fail = (err: Error): void => { off(); client.end(true); reject(err) }
    const off = (): void => { client.removeListener('connect', ok); client.removeListener('error', errored); client.removeListener('close', closed) }
    const ok = (): void => { off(); resolve(client) }
    // A refusal in CONNACK (a numeric reason code: protocol version, credentials) ends it at once; a broker that is down does not.
    const errored = (err: Error): void => { if (tries === 1 || typeof (err as { code?: unknown }).code === 'number') fail(err); else last = err }
    const closed = (): void => { if (++closes >= tries) fail(last ?? new Error(`connection to ${o.url} closed before CONNACK`)) }
    client.on('connect', ok)
    client.on('error', errored)
    client.on('close', closed)
  })
}

/**
 * Small MQTT packets must not wait for Nagle's algorithm and delayed ACKs (~40 ms per exchange);
 * the packets of one event-loop turn leave in one write (batch-writes.ts).
 */
export const noDelay = (client: MqttClient): void => {
  const stream = client.stream as (Writable & { setNoDelay?: (on: boolean) => void }) | undefined
  if (stream === undefined) return
  stream.setNoDelay?.(true)
  batchWrites(stream)
}

/** A Transport over an mqtt.js client: works with aedes, Mosquitto or any MQTT broker. */
export class MqttTransport implements Transport {
  readonly protocolVersion: 4 | 5
  private readonly table = new HandlerTable()
  /** MQTT 5 §3.8.2.1.2 Subscription Identifiers: one per filter, so overlapping subscriptions don't double-dispatch. */
  private readonly subIds = new Map<number, string>()
  private nextSubId = 1

  private constructor (private readonly client: MqttClient, version: 4 | 5) {
    this.protocolVersion = version
    client.on('message', (topic, payload, packet) => {
      const props = packet.properties
      const msg = { topic, payload, retain: packet.retain, qos: packet.qos, responseTopic: props?.responseTopic, correlationData: props?.correlationData }
      const ids = props?.subscriptionIdentifier
      if (ids === undefined) { this.table.dispatch(msg); return }
      // A v5 broker sends one copy per matching subscription, each tagged with its identifier.
      for (const id of Array.isArray(ids) ? ids : [ids]) {
        const filter = this.subIds.get(id)
        if (filter !== undefined) this.table.dispatchTo(filter, msg)
      }
    })
    client.on('error', () => { /* reconnect handles it; errors surface on publish/subscribe */ })
  }

  /**
   * Calls `l` once if the broker closes the connection (e.g. it refused a PUBLISH: MQTT 3.1.1
   * brokers disconnect then). A publish in flight at that moment may never settle without reconnect.
   */
  onClose (l: () => void): void { this.client.once('close', l) }

  /** Calls `l` on every CONNACK after the first (a reconnect, maybe to a fallback broker). */
  onReconnect (l: () => void): void { this.client.on('connect', l) }

  static async open (o: MqttTransportOptions): Promise<MqttTransport> {
    const want = o.protocolVersion ?? 5
    try {
      return new MqttTransport(await connect(o, want), want)
    } catch (err) {
      // MQTT 5 §3.2.2.2: a broker that does not speak v5 answers CONNACK "unsupported protocol version" (3.1.1: code 1) or closes.
      if (want === 5) {
        try { return new MqttTransport(await connect(o, 4), 4) } catch (err2) { throw unreachable(o.url, err2) }
      }
      throw unreachable(o.url, err)
    }
  }

  async publish (topic: string, payload: Buffer | string, opts: PublishOptions = {}): Promise<void> {
    const properties = this.protocolVersion === 5 && opts.correlationData !== undefined ? { correlationData: opts.correlationData } : undefined
    await this.client.publishAsync(topic, payload, { qos: opts.qos ?? 1, retain: opts.retain ?? false, properties })
  }

  async subscribe (filter: string, handler: Handler, opts: { qos?: 0 | 1 } = {}): Promise<void> {
    this.table.set(filter, handler)
    if (this.protocolVersion === 5) {
      const id = this.nextSubId++
      this.subIds.set(id, filter)
      await this.client.subscribeAsync(filter, { qos: opts.qos ?? 1, properties: { subscriptionIdentifier: id } })
    } else {
      await this.client.subscribeAsync(filter, { qos: opts.qos ?? 1 })
    }
  }

  async unsubscribe (filter: string): Promise<void> {
    this.table.delete(filter)
    for (const [id, f] of this.subIds) if (f === filter) this.subIds.delete(id)
    await this.client.unsubscribeAsync(filter)
  }

  async close (): Promise<void> { await this.client.endAsync() }

  /** Closes the socket without DISCONNECT, so the broker publishes the Last Will (MQTT 3.1.1 §3.1.2.5). */
  async abort (): Promise<void> { await this.client.endAsync(true) }
}

const unreachable = (url: string, err: unknown): WispError =>
  new WispError('WISP_BAD_CONFIG', `cannot connect to the MQTT broker at ${url}: ${(err as Error).message || String(err)}`)
