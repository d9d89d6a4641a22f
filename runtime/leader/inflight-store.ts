import { join } from 'node:path'
import { Level } from 'level'
import { z } from 'zod'
import { openLevel } from '../shared/level-open.js'
import type { Logger } from '../shared/log.js'
import { AnsweredJournal } from './answered-journal.js'
import type { Invocation } from './inflight.js'

/** What survives a gateway restart of one accepted, unanswered invocation. */
export const StoredSchema = z.object({
  invocation: z.string(),
  requestId: z.string(),
  dedupeKey: z.string().nullable(),
  fn: z.string(),
  sha256: z.string(),
  event: z.unknown(),
  reply: z.object({ topic: z.string(), correlationData: z.string().optional(), qos: z.literal(2).optional() }).nullable(),
  receivedAt: z.number(),
  deadline: z.number(),
  attempt: z.number().int().min(0),
  /** The invoke envelope's options and a deferral (runtime/leader/policies/green.ts), so a restart keeps waiting for the same window. */
  options: z.object({ deadlineMs: z.number().optional(), deferrable: z.boolean().optional(), budgetMj: z.number().optional(), acceptVariants: z.boolean().optional() }).optional(),
  /** The function invoked when a variant of it runs (`fn`). */
  variantOf: z.string().optional(),
  notBefore: z.number().optional(),
  latestStart: z.number().optional()
})
export type StoredInvocation = z.infer<typeof StoredSchema>

export interface Recovered {
  readonly invocations: readonly StoredInvocation[]
  /** Request keys answered or accepted within the dedupe window, with when they were seen. */
  readonly seen: ReadonlyArray<readonly [string, number]>
}

/**
 * Where the leader keeps its in-flight table and dedupe window: LevelDB for one gateway
 * (InflightStore), Redis for clustered gateways (redis-inflight-store.ts), so a new leader
 * reads what the previous one accepted.
 */
export interface InflightStorage {
  /** Everything stored, minus dedupe keys already out of the window. */
  recover: (now: number) => Promise<Recovered>
  /** An invocation was accepted or moved to a new attempt; resolves once that is stored. */
  accepted: (inv: Invocation, now: number) => Promise<void>
  /** Resolves when every write queued so far is stored (or failed, which is logged). */
  durable: () => Promise<void>
  /** Its one reply was published: it no longer needs to survive a restart. */
  answered: (invocation: string) => void
  close: () => Promise<void>
}

/** The stored form of an invocation (shared by both stores). */
export const toStored = (inv: Invocation): StoredInvocation => ({
  invocation: inv.invocation,
  requestId: inv.requestId,
  dedupeKey: inv.dedupeKey,
  fn: inv.fn,
  sha256: inv.manifest.sha256,
  event: inv.event,
  reply: inv.reply === null ? null : { topic: inv.reply.topic, ...(inv.reply.correlationData === undefined ? {} : { correlationData: inv.reply.correlationData.toString('hex') }), ...(inv.reply.qos === undefined ? {} : { qos: inv.reply.qos }) },
  receivedAt: inv.receivedAt,
  deadline: inv.deadline,
  attempt: inv.attempt,
  ...(inv.options === undefined ? {} : { options: inv.options }),
  ...(inv.notBefore === undefined ? {} : { notBefore: inv.notBefore }),
  ...(inv.variantOf === undefined ? {} : { variantOf: inv.variantOf }),
  ...(inv.latestStart === undefined ? {} : { latestStart: inv.latestStart })
})

type Op = { type: 'put', key: string, value: string } | { type: 'del', key: string }

const INV = 'inv:'
const SEEN = 'seen:'
/** Past this size the journal of answered invocations is emptied, or set aside if deletes it records are still pending. */
const JOURNAL_CLEAR_BYTES = 64 * 1024

/**
 * The leader's in-flight table and dedupe window in LevelDB (the gateway's data folder), so a
 * gateway restart re-dispatches or answers what it had accepted instead of forgetting it.
 * Writes are queued and applied as one batch at a time, in order: a burst costs a few batches,
 * and a `del` can never overtake the `put` it undoes.
 */
export class InflightStore implements InflightStorage {
  private ops: Op[] = []
  private flushing: Promise<void> | null = null
  private queued = 0
  private written = 0
  private waiters: Array<{ upTo: number, resolve: () => void }> = []
  /** Dedupe keys in the order they were written, to delete them when they leave the window. */
  private readonly seenOrder: Array<readonly [string, number]> = []
  /** The write count that covers every delete whose id is in the journal. */
  private journaledUpTo = 0
  /** The write count that covers every delete whose id is in the set-aside journal (null: none set aside). */
  private oldUpTo: number | null = null
  /** A batch failed since the journal was last emptied: it is then the only record of those answers. */
  private failedSinceClear = false

  private constructor (private readonly db: Level<string, string>, private readonly journal: AnsweredJournal, private readonly log: Logger, private readonly rememberMs: number, private readonly maxRemembered: number) {}

  static async open (dir: string, log: Logger, o: { rememberMs?: number, maxRemembered?: number } = {}): Promise<InflightStore> {
    const db = new Level<string, string>(dir, { valueEncoding: 'utf8' })
    await openLevel(db, dir, 'choose another data folder (wisp start --data-dir DIR, or data_dir in the gateway config)')
    let journal: AnsweredJournal
    // Beside LevelDB's own files, which it leaves alone (not one of the names LevelDB writes).
    try { journal = AnsweredJournal.open(join(dir, 'answered.journal')) } catch (err) { await db.close(); throw err }
    return new InflightStore(db, journal, log, o.rememberMs ?? 10 * 60_000, o.maxRemembered ?? 100_000)
  }

  /** Everything stored, minus dedupe keys already out of the window (deleted as it goes). */
  async recover (now: number): Promise<Recovered> {
    const invocations: StoredInvocation[] = []
    // Answered before the previous process ended, its delete maybe not yet written.
    const answered = this.journal.ids()
    for await (const [key, value] of this.db.iterator({ gte: INV, lt: 'inv;' })) {
      if (answered.has(key.slice(INV.length))) { this.queue({ type: 'del', key }); continue }
      try { invocations.push(StoredSchema.parse(JSON.parse(value))) } catch (err) {
        this.log.warn('dropping a stored invocation that no longer validates', { key, err: (err as Error).message })
        this.queue({ type: 'del', key })
      }
    }
    const seen: Array<readonly [string, number]> = []
    for await (const [key, value] of this.db.iterator({ gte: SEEN, lt: 'seen;' })) {
      const at = Number(value)
      if (Number.isFinite(at) && now - at < this.rememberMs) seen.push([key.slice(SEEN.length), at])
      else this.queue({ type: 'del', key })
    }
    seen.sort((a, b) => a[1] - b[1])
    for (const s of seen.splice(0, Math.max(0, seen.length - this.maxRemembered))) this.queue({ type: 'del', key: SEEN + s[0] })
    this.seenOrder.push(...seen)
    invocations.sort((a, b) => a.receivedAt - b.receivedAt)
    await this.durable()
    this.clearJournal()
    return { invocations, seen }
  }

  /** An invocation was accepted or moved to a new attempt; resolves once that is on disk. */
  accepted (inv: Invocation, now: number): Promise<void> {
    const s = toStored(inv)
    this.queue({ type: 'put', key: INV + inv.invocation, value: JSON.stringify(s) })
    if (inv.attempt === 0 && inv.dedupeKey !== null) {
      this.queue({ type: 'put', key: SEEN + inv.dedupeKey, value: String(now) })
      this.seenOrder.push([inv.dedupeKey, now])
      this.forgetOld(now)
    }
    return this.durable()
  }

  /** Resolves when every write queued so far is on disk (or failed, which is logged). */
  async durable (): Promise<void> {
    const upTo = this.queued
    if (this.written >= upTo) return
    await new Promise<void>((resolve) => this.waiters.push({ upTo, resolve }))
  }

  /**
   * Its one reply was published: it no longer needs to survive a restart. Recorded in the journal
   * before this returns, so a gateway killed right after the reply does not run it again.
   */
  answered (invocation: string): void {
    try { this.journal.add(invocation) } catch (err) {
      this.log.warn('answered journal write failed', { invocation, err: (err as Error).message })
    }
    this.queue({ type: 'del', key: INV + invocation })
    this.journaledUpTo = this.queued
  }

  /** Waits until every queued write is on disk. */
  async flush (): Promise<void> {
    while (this.flushing !== null) await this.flushing
  }

  async close (): Promise<void> {
    await this.flush()
    this.clearJournal()
    this.journal.close()
    await this.db.close()
  }

  /** Empties the journal when every delete it records is written (and none failed). */
  private clearJournal (): void {
    if (this.written < this.journaledUpTo || this.failedSinceClear) return
    try { this.journal.clear(); this.oldUpTo = null } catch (err) { this.log.warn('answered journal could not be emptied', { err: (err as Error).message }) }
  }

  /** After a batch: drops a set-aside journal whose deletes are written; a full one is emptied, or set aside. */
  private trimJournal (): void {
    if (this.failedSinceClear) return
    try {
      if (this.oldUpTo !== null && this.written >= this.oldUpTo) { this.journal.dropOld(); this.oldUpTo = null }
      if (this.journal.size <= JOURNAL_CLEAR_BYTES) return
      if (this.written >= this.journaledUpTo) this.clearJournal()
      else if (this.oldUpTo === null) { this.journal.rotate(); this.oldUpTo = this.journaledUpTo }
    } catch (err) { this.log.warn('answered journal could not be trimmed', { err: (err as Error).message }) }
  }

  private forgetOld (now: number): void {
    while (this.seenOrder.length > 0) {
      const [key, at] = this.seenOrder[0] as readonly [string, number]
      if (now - at < this.rememberMs && this.seenOrder.length <= this.maxRemembered) break
      this.seenOrder.shift()
      this.queue({ type: 'del', key: SEEN + key })
    }
  }

  private queue (op: Op): void {
    this.ops.push(op)
    this.queued++
    if (this.flushing === null) this.flushing = this.drain()
  }

  private async drain (): Promise<void> {
    try {
      while (this.ops.length > 0) {
        const batch = this.ops
        this.ops = []
        await this.db.batch(batch).catch((err: Error) => {
          this.failedSinceClear = true
          this.log.warn('in-flight table write failed', { ops: batch.length, err: err.message })
        })
        this.written += batch.length
        this.trimJournal()
        const ready = this.waiters.filter((w) => w.upTo <= this.written)
        this.waiters = this.waiters.filter((w) => w.upTo > this.written)
        for (const w of ready) w.resolve()
      }
    } finally {
      this.flushing = null
    }
  }
}
