import { Level } from 'level'
import { codeProblem } from '../protocol/code.js'
import { parseManifest, encode, type Manifest } from '../protocol/messages.js'
import type { Topics } from '../protocol/topics.js'
import type { Transport } from '../transport/transport.js'
import type { Logger } from '../shared/log.js'

/** How long code no manifest references yet is held in memory, waiting for its manifest. */
export const CODE_GRACE_MS = 60_000
/** How many such unreferenced blobs are held at once (each ≤ MAX_CODE_BYTES). */
export const MAX_PENDING_CODE = 16

export interface RegistryOptions {
  readonly codeGraceMs?: number
  readonly maxPendingCode?: number
}

/**
 * The gateway's durable function registry: manifests and code (by sha256) in LevelDB.
 * It learns deployments from the retained `functions/+` and `code/+` topics and republishes
 * them when the gateway starts, so a broker restart loses no deployment.
 *
 * Only code a manifest references (same sha256, same size) is stored. `wisp deploy` publishes
 * code before its manifest, so other code is held in memory for a grace period; if no manifest
 * claims it by then, or once no manifest references a stored blob any longer, the blob is
 * deleted and its retained message cleared. Events are handled one at a time, in order.
 */
export class Registry {
  private readonly manifests = new Map<string, Manifest>()
  private readonly pending = new Map<string, { text: string, timer: ReturnType<typeof setTimeout> }>()
  private readonly db: Level<string, string>
  private chain: Promise<void> = Promise.resolve()
  private readonly graceMs: number
  private readonly maxPending: number

  constructor (dataDir: string, private readonly t: Transport, private readonly topics: Topics, private readonly log: Logger, o: RegistryOptions = {}) {
    this.db = new Level<string, string>(dataDir, { valueEncoding: 'utf8' })
    this.graceMs = o.codeGraceMs ?? CODE_GRACE_MS
    this.maxPending = o.maxPendingCode ?? MAX_PENDING_CODE
  }

  async start (): Promise<void> {
    await this.db.open()
    for await (const [key, value] of this.db.iterator({ gte: 'fn:', lt: 'fn;' })) {
      try { this.manifests.set(key.slice(3), parseManifest(Buffer.from(value))) } catch (err) {
        this.log.warn('dropping a stored manifest that no longer validates', { key, err: (err as Error).message })
      }
    }
    for await (const key of this.db.keys({ gte: 'code:', lt: 'code;' })) {
      if (!this.referenced(key.slice(5))) await this.db.del(key)
    }
    for (const m of this.manifests.values()) {
      const code = await this.code(m.sha256)
      if (code === undefined) { this.log.warn('stored manifest has no code; skipping', { fn: m.name }); continue }
      await this.t.publish(this.topics.code(m.sha256), Buffer.from(code), { retain: true })
      await this.t.publish(this.topics.fn(m.name), encode(m), { retain: true })
    }
    await this.t.subscribe(this.topics.functionsFilter, (msg) => { this.enqueue(async () => await this.onManifest(msg.topic, msg.payload)) })
    await this.t.subscribe(`${this.topics.prefix}/code/+`, (msg) => { this.enqueue(async () => await this.onCode(msg.topic, msg.payload)) })
  }

  get (fn: string): Manifest | undefined { return this.manifests.get(fn) }
  list (): Manifest[] { return [...this.manifests.values()] }

  async code (sha: string): Promise<string | undefined> {
    return await this.db.get(`code:${sha}`)
  }

  /** Resolves once every message received so far has been handled. */
  async settled (): Promise<void> { await this.chain }

  async close (): Promise<void> {
    for (const p of this.pending.values()) clearTimeout(p.timer)
    this.pending.clear()
    await this.chain
    await this.db.close()
  }

  private enqueue (fn: () => Promise<void>): void {
    this.chain = this.chain.then(fn).catch((err: Error) => this.log.warn('registry update failed', { err: err.message }))
  }

  private referenced (sha: string, size?: number): boolean {
    for (const m of this.manifests.values()) if (m.sha256 === sha && (size === undefined || m.size === size)) return true
    return false
  }

  private async onManifest (topic: string, payload: Buffer): Promise<void> {
    const fn = topic.slice(topic.lastIndexOf('/') + 1)
    const prev = this.manifests.get(fn)
    if (payload.length === 0) { // an empty retained message deletes (MQTT 3.1.1 §3.3.1.3)
      if (prev === undefined) return
      this.manifests.delete(fn)
      await this.db.del(`fn:${fn}`)
      this.log.info('function removed', { fn })
      await this.collect(prev.sha256)
      return
    }
    let m: Manifest
    try {
      m = parseManifest(payload)
      if (m.name !== fn) throw new Error(`manifest name "${m.name}" does not match topic`)
      const stored = await this.code(m.sha256) ?? this.pending.get(m.sha256)?.text
      if (stored !== undefined && Buffer.byteLength(stored, 'utf8') !== m.size) throw new Error(`manifest says ${m.size} bytes; its code has ${Buffer.byteLength(stored, 'utf8')}`)
    } catch (err) {
      this.log.warn('ignoring a bad manifest', { topic, err: (err as Error).message })
      return
    }
    this.manifests.set(fn, m)
    await this.db.put(`fn:${fn}`, payload.toString('utf8'))
    const held = this.pending.get(m.sha256)
    if (held !== undefined) await this.keep(m.sha256, held.text)
    if (prev?.sha256 !== m.sha256) {
      this.log.info('function deployed', { fn, sha256: m.sha256.slice(0, 12) })
      if (prev !== undefined) await this.collect(prev.sha256)
    }
  }

  private async onCode (topic: string, payload: Buffer): Promise<void> {
    const sha = topic.slice(topic.lastIndexOf('/') + 1)
    if (payload.length === 0) return
    const problem = codeProblem(sha, payload)
    if (problem !== null) { await this.reject(sha, problem); return }
    const text = payload.toString('utf8')
    if (await this.code(sha) !== undefined) return
    if (this.referenced(sha, payload.length)) { await this.keep(sha, text); return }
    if (this.referenced(sha)) { await this.reject(sha, 'code whose size does not match its manifest'); return }
    this.hold(sha, text)
  }

  /** Code that no manifest references yet: held for a while, in bounded memory. */
  private hold (sha: string, text: string): void {
    if (this.pending.has(sha)) return
    while (this.pending.size >= this.maxPending) {
      const oldest = this.pending.keys().next().value as string
      this.enqueue(async () => await this.expire(oldest))
      this.drop(oldest)
    }
    const timer = setTimeout(() => this.enqueue(async () => await this.expire(sha)), this.graceMs)
    timer.unref()
    this.pending.set(sha, { text, timer })
  }

  private drop (sha: string): void {
    const p = this.pending.get(sha)
    if (p !== undefined) clearTimeout(p.timer)
    this.pending.delete(sha)
  }

  private async keep (sha: string, text: string): Promise<void> {
    this.drop(sha)
    await this.db.put(`code:${sha}`, text)
  }

  private async expire (sha: string): Promise<void> {
    this.drop(sha)
    if (this.referenced(sha) || await this.code(sha) !== undefined) return
    this.log.info('clearing code no manifest claimed', { sha256: sha.slice(0, 12) })
    await this.clearRetained(sha)
  }

  /** Deletes a stored blob no manifest references any longer, and its retained message. */
  private async collect (sha: string): Promise<void> {
    if (this.referenced(sha)) return
    await this.db.del(`code:${sha}`)
    await this.clearRetained(sha)
    this.log.info('code collected', { sha256: sha.slice(0, 12) })
  }

  /** A bad blob on a code topic: put the real code back when stored, else clear the topic. */
  private async reject (sha: string, why: string): Promise<void> {
    this.log.warn('ignoring bad code', { sha256: sha.slice(0, 12), why })
    const real = await this.code(sha)
    if (real !== undefined) await this.t.publish(this.topics.code(sha), Buffer.from(real), { retain: true })
    else await this.clearRetained(sha)
  }

  private async clearRetained (sha: string): Promise<void> {
    await this.t.publish(this.topics.code(sha), Buffer.alloc(0), { retain: true })
  }
}
