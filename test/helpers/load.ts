import mqtt, { type MqttClient } from 'mqtt'
import { noDelay } from '../../runtime/transport/mqtt-transport.js'

export interface Outcome { readonly id: string, readonly fn: string, readonly sentAt: number, readonly replies: Array<{ at: number, ok: boolean, code: string | null, queueMs?: number, runMs?: number, totalMs?: number, board?: string }> }

export interface LoadStats {
  readonly sent: number
  readonly answered: number
  /** Sent and never answered. */
  readonly lost: number
  /** Replies beyond the first for one request. */
  readonly duplicates: number
  readonly ok: number
  readonly codes: Readonly<Record<string, number>>
  /** Error replies whose code is not a WISP_* code. */
  readonly foreign: number
  readonly p50Ms: number
  readonly p99Ms: number
}

export const quantile = (xs: readonly number[], q: number): number => {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number
}

/**
 * A client as a user's would be: mqtt.js, QoS 1, a distinct request id per invocation, results
 * on its own result topic. It reconnects and resubscribes by itself (mqtt.js), and counts
 * every request id: answered, lost, duplicated, with which code and how fast.
 */
export class LoadClient {
  readonly outcomes = new Map<string, Outcome>()
  private seq = 0
  private waiters: Array<() => void> = []

  private constructor (readonly client: MqttClient, readonly tag: string) {
    client.on('message', (topic, payload) => {
      const id = topic.slice(topic.lastIndexOf('/') + 1)
      const o = this.outcomes.get(id)
      if (o === undefined) return
      let reply: { ok?: boolean, error?: { code?: string }, receipt?: { queue_ms?: number, run_ms?: number, total_ms?: number, board?: string } } = {}
      try { reply = JSON.parse(payload.toString()) } catch { reply = { ok: false, error: { code: 'unparseable' } } }
      const r = reply.receipt
      o.replies.push({ at: performance.now(), ok: reply.ok === true, code: reply.ok === true ? null : String(reply.error?.code ?? 'none'), queueMs: r?.queue_ms, runMs: r?.run_ms, totalMs: r?.total_ms, board: r?.board })
      for (const w of this.waiters) w()
    })
  }

  static async connect (url: string, tag: string): Promise<LoadClient> {
    const client = await mqtt.connectAsync(url, { clientId: `load-${tag}-${process.pid}`, clean: false, reconnectPeriod: 200, connectTimeout: 5000, keepalive: 5 })
    // As the gateway's and boards' sockets: with Nagle's algorithm on, an invoke written while the
    // gateway has not yet acknowledged the client's previous data waits for that ACK (up to 40 ms).
    noDelay(client)
    client.on('connect', () => noDelay(client)) // a reconnect opens a new socket
    await client.subscribeAsync(`wisp/result/${tag}/#`, { qos: 1 })
    return new LoadClient(client, tag)
  }

  /** Publishes one invocation (QoS 1; mqtt.js queues it while disconnected) and returns its id. */
  send (fn: string, event: unknown): string {
    const id = `q${(this.seq++).toString(36)}`
    this.outcomes.set(id, { id, fn, sentAt: performance.now(), replies: [] })
    this.client.publish(`wisp/invoke/${fn}/${this.tag}/${id}`, JSON.stringify(event), { qos: 1 })
    return id
  }

  pending (): number { let n = 0; for (const o of this.outcomes.values()) if (o.replies.length === 0) n++; return n }

  /** Resolves when every request sent so far has a reply, or after timeoutMs (then some are lost). */
  async settle (timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (this.pending() > 0) {
      const left = deadline - Date.now()
      if (left <= 0) return false
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250))
        this.waiters.push(() => { clearTimeout(t); resolve() })
      })
      this.waiters = []
    }
    return true
  }

  stats (filter: (o: Outcome) => boolean = () => true): LoadStats {
    let sent = 0; let answered = 0; let duplicates = 0; let ok = 0; let foreign = 0
    const codes: Record<string, number> = {}
    const lat: number[] = []
    for (const o of this.outcomes.values()) {
      if (!filter(o)) continue
      sent++
      const first = o.replies[0]
      if (first === undefined) continue
      answered++
      duplicates += o.replies.length - 1
      lat.push(first.at - o.sentAt)
      if (first.ok) ok++
      else {
        codes[first.code ?? 'none'] = (codes[first.code ?? 'none'] ?? 0) + 1
        if (!/^WISP_[A-Z_]+$/.test(first.code ?? '')) foreign++
      }
    }
    return { sent, answered, lost: sent - answered, duplicates, ok, codes, foreign, p50Ms: quantile(lat, 0.5), p99Ms: quantile(lat, 0.99) }
  }

  async close (): Promise<void> { await this.client.endAsync(true) }
}

/** Resident set size of a process, MB (Linux /proc). */
export const rssMb = async (pid: number): Promise<number> => {
  const { readFile } = await import('node:fs/promises')
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))
    return m === null ? NaN : Number(m[1]) / 1024
  } catch { return NaN }
}
