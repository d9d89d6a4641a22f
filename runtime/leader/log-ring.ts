import type { LogLine } from '../protocol/admin.js'

/** Log lines kept per function at the gateway (the newest ones). */
export const LOG_RING_LINES = 500

/**
 * A copy of the rings somewhere shared (clustered gateways: Redis, redis-logs.ts), so the next
 * leader starts from them. Writes are fire-and-forget: a failed one is logged, never awaited.
 */
export interface LogMirror {
  load: () => Promise<Map<string, LogLine[]>>
  append: (fn: string, lines: readonly LogLine[]) => void
  forget: (fn: string) => void
}

/** A bounded ring of handler log lines per function, numbered in arrival order. */
export class LogRing {
  private readonly byFn = new Map<string, LogLine[]>()
  private seq = 0

  constructor (private readonly perFn = LOG_RING_LINES, private readonly mirror?: LogMirror) {}

  /** Starts from the mirror's copy (numbering continues after its last line). */
  async restore (): Promise<void> {
    if (this.mirror === undefined) return
    for (const [fn, lines] of await this.mirror.load()) {
      const ring = lines.slice(-this.perFn)
      this.byFn.set(fn, ring)
      for (const l of ring) this.seq = Math.max(this.seq, l.seq)
    }
  }

  /** Appends lines of one invocation; returns them as stored (with their numbers). */
  add (fn: string, lines: ReadonlyArray<Omit<LogLine, 'seq'>>): LogLine[] {
    let ring = this.byFn.get(fn)
    if (ring === undefined) { ring = []; this.byFn.set(fn, ring) }
    const out = lines.map((l) => ({ ...l, seq: ++this.seq }))
    ring.push(...out)
    if (ring.length > this.perFn) ring.splice(0, ring.length - this.perFn)
    this.mirror?.append(fn, out)
    return out
  }

  /** Lines of `fn` at or after `since` (ms since the epoch) and numbered past `after`, oldest first. */
  read (fn: string, since = 0, after = 0): LogLine[] {
    return (this.byFn.get(fn) ?? []).filter((l) => l.at >= since && l.seq > after)
  }

  forget (fn: string): void {
    this.byFn.delete(fn)
    this.mirror?.forget(fn)
  }
}
