import type { ServerResponse } from 'node:http'

interface Client { res: ServerResponse, blocked: boolean, missed: boolean }

export interface SseHubOptions {
  /** Builds the event payload; called once per push, shared by every client. */
  payload: () => string
  /** Minimum gap between two pushes; bursts of changes inside it become one push. */
  minIntervalMs?: number
  /** Comment lines keep idle connections open through proxies. */
  heartbeatMs?: number
}

/** Server-Sent Events fan-out (WHATWG HTML §9.2): one `snapshot` event per change, coalesced. */
export class SseHub {
  private readonly clients = new Set<Client>()
  private readonly minIntervalMs: number
  private lastPush = 0
  private timer: NodeJS.Timeout | undefined
  private readonly heartbeat: NodeJS.Timeout

  constructor (private readonly opts: SseHubOptions) {
    this.minIntervalMs = opts.minIntervalMs ?? 200
    this.heartbeat = setInterval(() => { this.writeAll(': ping\n\n') }, opts.heartbeatMs ?? 15_000)
    this.heartbeat.unref()
  }

  get size (): number { return this.clients.size }

  add (res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no'
    })
    const client: Client = { res, blocked: false, missed: false }
    this.clients.add(client)
    res.on('close', () => { this.clients.delete(client) })
    res.on('drain', () => {
      client.blocked = false
      if (client.missed) { client.missed = false; this.send(client, this.event()) }
    })
    // The reconnection delay, then the current state so the page never starts empty.
    this.send(client, `retry: 2000\n\n${this.event()}`)
  }

  /** Something changed: push now, or once the minimum interval has passed. */
  changed (): void {
    if (this.clients.size === 0 || this.timer !== undefined) return
    const wait = Math.max(0, this.lastPush + this.minIntervalMs - Date.now())
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.lastPush = Date.now()
      this.writeAll(this.event())
    }, wait)
    this.timer.unref()
  }

  close (): void {
    clearInterval(this.heartbeat)
    if (this.timer !== undefined) clearTimeout(this.timer)
    for (const c of this.clients) c.res.end()
    this.clients.clear()
  }

  private event (): string {
    try {
      return `event: snapshot\ndata: ${this.opts.payload()}\n\n`
    } catch (err) {
      return `event: failure\ndata: ${JSON.stringify({ message: (err as Error).message })}\n\n`
    }
  }

  private writeAll (chunk: string): void {
    for (const c of this.clients) this.send(c, chunk)
  }

  private send (c: Client, chunk: string): void {
    // A slow client gets the latest state once its socket drains instead of a growing backlog.
    if (c.blocked) { c.missed = true; return }
    if (!c.res.write(chunk)) c.blocked = true
  }
}
