import mqtt, { type MqttClient } from 'mqtt'

export interface Received { topic: string, payload: Buffer, json: unknown }

/** A real mqtt.js client that collects what arrives on its subscriptions. */
export class TestClient {
  readonly received: Received[] = []
  private waiters: Array<() => void> = []

  private constructor (readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      let json: unknown = null
      try { json = JSON.parse(payload.toString()) } catch { json = null }
      this.received.push({ topic, payload, json })
      for (const w of this.waiters) w()
    })
  }

  static async connect (url: string, opts: mqtt.IClientOptions = {}): Promise<TestClient> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts })
    return new TestClient(client)
  }

  async sub (filter: string): Promise<void> { await this.client.subscribeAsync(filter, { qos: 1 }) }

  async pub (topic: string, payload: string | Buffer, opts: mqtt.IClientPublishOptions = {}): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1, ...opts })
  }

  /** Waits until `pred` holds over what arrived, at most timeoutMs. */
  async waitFor (pred: (r: Received[]) => boolean, timeoutMs = 10_000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs
    while (!pred(this.received)) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms; got ${this.received.length} messages`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200))
        this.waiters.push(() => { clearTimeout(t); resolve() })
      })
      this.waiters = []
    }
    return this.received
  }

  on (topic: string): Received[] { return this.received.filter((r) => r.topic === topic) }

  async close (): Promise<void> { await this.client.endAsync() }
}
