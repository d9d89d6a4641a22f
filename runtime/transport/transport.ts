/**
 * The one interface every process uses to speak MQTT. Two implementations share one
 * contract test suite: `mqtt-transport.ts` (an mqtt.js client to any broker) and
 * `aedes-transport.ts` (in-process, for the leader running inside the embedded broker).
 */
export interface InboundMessage {
  readonly topic: string
  readonly payload: Buffer
  /** MQTT 3.1.1 §3.3.1.3: set on a message the broker sends because it was retained. */
  readonly retain: boolean
  /** The QoS the message was delivered with (absent where a transport does not know it). */
  readonly qos?: 0 | 1 | 2
  /** MQTT 5 §3.3.2.3.5 Response Topic and §3.3.2.3.6 Correlation Data, when the publisher spoke v5. */
  readonly responseTopic?: string
  readonly correlationData?: Buffer
}

export interface PublishOptions {
  /** 1 unless told; 2 for the reply to a QoS 2 invoke, so a QoS 2 subscriber gets it exactly once (MQTT 3.1.1 §4.3.3). */
  readonly qos?: 0 | 1 | 2
  readonly retain?: boolean
  readonly correlationData?: Buffer
}

export type Handler = (msg: InboundMessage) => void

export interface Transport {
  /** The MQTT protocol level spoken to the broker (4 = 3.1.1, 5 = MQTT 5). */
  readonly protocolVersion: 4 | 5
  publish: (topic: string, payload: Buffer | string, opts?: PublishOptions) => Promise<void>
  subscribe: (filter: string, handler: Handler, opts?: { qos?: 0 | 1 }) => Promise<void>
  unsubscribe: (filter: string) => Promise<void>
  close: () => Promise<void>
  /** Calls `l` after each automatic reconnect (not the first connection); absent where there is no reconnect. */
  onReconnect?: (l: () => void) => void
}

/** MQTT 3.1.1 §4.7.1: '+' matches one level, '#' (last) matches the parent and any number of levels. */
export const topicMatches = (filter: string, topic: string): boolean => levelsMatch(filter.split('/'), topic.split('/'))

const levelsMatch = (f: readonly string[], t: readonly string[]): boolean => {
  for (let i = 0; i < f.length; i++) {
    const part = f[i]
    if (part === '#') return true
    if (i >= t.length) return false
    if (part !== '+' && part !== t[i]) return false
  }
  return f.length === t.length
}

/** Dispatches inbound messages to the handlers whose filters match (shared by both transports). */
export class HandlerTable {
  /** Each filter split into its levels once, not on every message. */
  private readonly handlers = new Map<string, { levels: readonly string[], h: Handler }>()
  set (filter: string, h: Handler): void { this.handlers.set(filter, { levels: filter.split('/'), h }) }
  delete (filter: string): void { this.handlers.delete(filter) }
  dispatchTo (filter: string, msg: InboundMessage): void { this.handlers.get(filter)?.h(msg) }
  dispatch (msg: InboundMessage): void {
    const t = msg.topic.split('/')
    for (const { levels, h } of this.handlers.values()) {
      if (levelsMatch(levels, t)) h(msg)
    }
  }
}
