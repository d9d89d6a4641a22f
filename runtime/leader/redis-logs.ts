import type { Redis } from 'ioredis'
import type { LogLine } from '../protocol/admin.js'
import type { Logger } from '../shared/log.js'
import { LOG_RING_LINES, type LogMirror } from './log-ring.js'
import { fencedWrite, type FencedOp } from './redis-fence.js'

/**
 * Handler logs of clustered gateways in Redis: a list `<ns>:logs:<fn>` of LogLine JSON trimmed
 * to the newest LOG_RING_LINES, and the set `<ns>:logfns` of functions that have one. Writes
 * carry the leader's fencing token; a refused or failed one is logged and dropped.
 */
export class RedisLogs implements LogMirror {
  private tail: Promise<void> = Promise.resolve()

  constructor (private readonly redis: Redis, private readonly ns: string, private readonly fence: number, private readonly log: Logger, private readonly perFn = LOG_RING_LINES) {}

  private list (fn: string): string { return `${this.ns}:logs:${fn}` }
  private get fns (): string { return `${this.ns}:logfns` }

  async load (): Promise<Map<string, LogLine[]>> {
    const out = new Map<string, LogLine[]>()
    for (const fn of await this.redis.smembers(this.fns)) {
      const lines: LogLine[] = []
      for (const raw of await this.redis.lrange(this.list(fn), -this.perFn, -1)) {
        try { lines.push(JSON.parse(raw) as LogLine) } catch { /* a line that does not parse is skipped */ }
      }
      if (lines.length > 0) out.set(fn, lines)
    }
    return out
  }

  append (fn: string, lines: readonly LogLine[]): void {
    if (lines.length === 0) return
    this.write([['RPUSH', this.list(fn), ...lines.map((l) => JSON.stringify(l))], ['LTRIM', this.list(fn), -this.perFn, -1], ['SADD', this.fns, fn]])
  }

  forget (fn: string): void { this.write([['DEL', this.list(fn)], ['SREM', this.fns, fn]]) }

  /** Resolves once every write so far is done (for tests and closing). */
  async settled (): Promise<void> { await this.tail }

  private write (ops: FencedOp[]): void {
    // One after another: a forget never overtakes the lines it removes.
    this.tail = this.tail.then(async () => {
      if (!await fencedWrite(this.redis, this.ns, this.fence, ops)) this.log.warn('handler log write refused: another gateway leads now', { fence: this.fence })
    }).catch((err: Error) => this.log.warn('handler log write to Redis failed', { err: err.message }))
  }
}
