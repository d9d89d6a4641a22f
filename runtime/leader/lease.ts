import type { Redis } from 'ioredis'
import type { Clock } from '../shared/clock.js'
import type { Logger } from '../shared/log.js'

/** Takes the lease if free and, atomically, the next fencing token (0 = someone else holds it). */
const ACQUIRE = "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return redis.call('INCR', KEYS[2]) else return 0 end"
/** Extends the lease only while this holder still has it. */
const RENEW = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end"
const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end"

export interface LeaseOptions {
  readonly redis: Redis
  /** Keys `<ns>:leader` (the lease) and `<ns>:fence` (the last token handed out). */
  readonly ns: string
  /** Unique to this gateway process. */
  readonly holder: string
  readonly leaseMs: number
  readonly clock: Clock
  readonly log: Logger
  /** This gateway now holds the lease, with a fencing token greater than every earlier one. */
  readonly onElected: (token: number) => Promise<void>
  /** It lost the lease (or could not renew it in time): stop leading. */
  readonly onDeposed: () => Promise<void>
}

/**
 * One leader at a time: a Redis key set with NX and a lease (PX), renewed every lease/3 by its
 * holder; any other gateway tries to take it at the same pace, so a dead holder is replaced
 * within about lease + lease/3. Each election INCRements a fencing token that the leader puts in
 * what it sends to boards, which ignore a token lower than one they have seen. A holder that
 * cannot renew for 2/3 of the lease steps down on its own, before the key can expire under it.
 */
export class LeaderLease {
  private token = 0
  private lastRenewed = 0
  private busy = false
  private running = false
  private stopTimer: (() => void) | null = null
  private transitions: Promise<void> = Promise.resolve()

  constructor (private readonly o: LeaseOptions) {}

  get leading (): boolean { return this.token > 0 }
  get fence (): number { return this.token }

  start (): void {
    this.running = true
    const every = Math.max(50, Math.floor(this.o.leaseMs / 3))
    const tick = (): void => {
      if (!this.busy) { this.busy = true; void this.step().finally(() => { this.busy = false }) }
      if (!this.running) return
      const h = this.o.clock.setTimeout(tick, every)
      this.stopTimer = () => this.o.clock.clearTimeout(h)
    }
    tick()
  }

  /** Stops campaigning; a holder releases the lease so another gateway takes over at once. */
  async stop (): Promise<void> {
    this.running = false
    this.stopTimer?.()
    this.stopTimer = null
    if (this.token > 0) {
      this.token = 0
      await this.o.redis.eval(RELEASE, 1, this.key, this.o.holder).catch(() => 0)
      this.transitions = this.transitions.then(this.o.onDeposed)
    }
    await this.transitions
  }

  /** Gives the lease up without stopping: another gateway (or this one, later) takes it. */
  resign (): void {
    if (this.token === 0) return
    this.token = 0
    void this.o.redis.eval(RELEASE, 1, this.key, this.o.holder).catch(() => 0)
  }

  private get key (): string { return `${this.o.ns}:leader` }

  private async step (): Promise<void> {
    const now = this.o.clock.now()
    try {
      if (this.token === 0) {
        const t = Number(await this.o.redis.eval(ACQUIRE, 2, this.key, `${this.o.ns}:fence`, this.o.holder, this.o.leaseMs))
        if (t > 0 && this.running) {
          this.token = t
          this.lastRenewed = now
          this.o.log.info('elected leader', { holder: this.o.holder, fence: t })
          this.transitions = this.transitions.then(async () => await this.o.onElected(t))
        }
        return
      }
      const ok = Number(await this.o.redis.eval(RENEW, 1, this.key, this.o.holder, this.o.leaseMs))
      if (ok === 1) { this.lastRenewed = now; return }
      this.depose('the lease is held by another gateway')
    } catch (err) {
      if (this.token > 0 && this.o.clock.now() - this.lastRenewed >= (this.o.leaseMs * 2) / 3) this.depose(`cannot renew the lease: ${(err as Error).message}`)
      else this.o.log.warn('lease request failed', { err: (err as Error).message })
    }
  }

  private depose (why: string): void {
    if (this.token === 0) return
    this.o.log.warn('no longer the leader', { holder: this.o.holder, fence: this.token, why })
    this.token = 0
    this.transitions = this.transitions.then(this.o.onDeposed)
  }
}
