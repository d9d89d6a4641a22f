import type { Aedes, AedesPublishPacket } from 'aedes'
import type { Handler, PublishOptions, Transport } from './transport.js'

type Deliver = (packet: AedesPublishPacket, cb: () => void) => void

/**
 * In-process Transport on the embedded aedes broker: the leader sees invocations and
 * completions without a network hop. aedes speaks MQTT 3.1.1 only, so no v5 properties.
 */
export class AedesTransport implements Transport {
  readonly protocolVersion = 4 as const
  private readonly handlers = new Map<string, Handler>()
  private readonly delivers = new Map<string, Deliver>()

  constructor (
    private readonly broker: Aedes,
    private readonly onHandlerError: (err: Error, topic: string) => void = (err, topic) => process.emitWarning(`handler for ${topic.slice(0, 200)} threw: ${err.message}`),
    /**
     * Which new subscriptions also get the retained messages they match, as a client's SUBSCRIBE
     * does (MQTT 3.1.1 §3.3.1.3); none by default. A clustered gateway needs it for deployments
     * and board states: its broker's retained messages live in Redis, written by whichever
     * gateway took them.
     */
    private readonly retained: (filter: string) => boolean = () => false
  ) {}

  async publish (topic: string, payload: Buffer | string, opts: PublishOptions = {}): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.broker.publish({
        cmd: 'publish',
        topic,
        payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
        qos: opts.qos ?? 1,
        retain: opts.retain ?? false,
        dup: false
      }, (err) => { if (err) reject(err); else resolve() })
    })
  }

  async subscribe (filter: string, handler: Handler): Promise<void> {
    this.handlers.set(filter, handler)
    if (this.delivers.has(filter)) return
    const deliver: Deliver = (packet, cb) => {
      // mqemitter starts the next queued message from inside this callback's `cb`. Called
      // synchronously, a queue of messages only this subscription matches (a burst of invokes
      // behind slow consumers) drains as one recursion per message and overflows the stack,
      // killing broker and leader together. aedes defers its own client deliveries the same
      // way (lib/client.js, deliverQoS).
      setImmediate(cb)
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : Buffer.from(packet.payload)
      // Only this filter's handler: the broker calls one deliver function per subscription.
      const h = this.handlers.get(filter)
      try {
        h?.({ topic: packet.topic, payload, retain: packet.retain === true, qos: packet.qos })
      } catch (err) {
        // A handler that throws must not unwind into the broker (and every client with it).
        this.onHandlerError(err as Error, packet.topic)
      }
    }
    this.delivers.set(filter, deliver)
    await new Promise<void>((resolve) => this.broker.subscribe(filter, deliver, resolve))
    if (this.retained(filter)) await this.replayRetained(filter)
  }

  private async replayRetained (filter: string): Promise<void> {
    const { persistence } = this.broker as unknown as { persistence: { createRetainedStreamCombi: (patterns: string[]) => AsyncIterable<AedesPublishPacket> } }
    for await (const packet of persistence.createRetainedStreamCombi([filter])) {
      const h = this.handlers.get(filter)
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : Buffer.from(packet.payload)
      try { h?.({ topic: packet.topic, payload, retain: true, qos: packet.qos }) } catch (err) { this.onHandlerError(err as Error, packet.topic) }
    }
  }

  async unsubscribe (filter: string): Promise<void> {
    this.handlers.delete(filter)
    const d = this.delivers.get(filter)
    if (d === undefined) return
    this.delivers.delete(filter)
    await new Promise<void>((resolve) => this.broker.unsubscribe(filter, d, resolve))
  }

  async close (): Promise<void> {
    for (const f of [...this.delivers.keys()]) await this.unsubscribe(f)
  }
}
