import type { LogLine } from '../protocol/admin.js'

/** Log lines kept per function at the gateway (the newest ones). */
export const LOG_RING_LINES = 500

/** A bounded ring of handler log lines per function, numbered in arrival order. */
export class LogRing {
  private readonly byFn = new Map<string, LogLine[]>()
  private seq = 0

  constructor (private readonly perFn = LOG_RING_LINES) {}

  /** Appends lines of one invocation; returns them as stored (with their numbers). */
  add (fn: string, lines: ReadonlyArray<Omit<LogLine, 'seq'>>): LogLine[] {
    let ring = this.byFn.get(fn)
    if (ring === undefined) { ring = []; this.byFn.set(fn, ring) }
    const out = lines.map((l) => ({ ...l, seq: ++this.seq }))
    ring.push(...out)
    if (ring.length > this.perFn) ring.splice(0, ring.length - this.perFn)
    return out
  }

  /** Lines of `fn` at or after `since` (ms since the epoch) and numbered past `after`, oldest first. */
  read (fn: string, since = 0, after = 0): LogLine[] {
    return (this.byFn.get(fn) ?? []).filter((l) => l.at >= since && l.seq > after)
  }

  forget (fn: string): void { this.byFn.delete(fn) }
}
