import { Level } from 'level'
import { codeProblem } from '../protocol/code.js'
import { parseManifest, encode, type Manifest } from '../protocol/messages.js'
import type { Topics } from '../protocol/topics.js'
import type { Transport } from '../transport/transport.js'
import { systemClock, type Clock, type TimerHandle } from '../shared/clock.js'
import type { Logger } from '../shared/log.js'
import { WispError } from '../shared/errors.js'
import type { History } from '../protocol/admin.js'
import { addVersion, currentVersion, historyReferences, makeCurrent, rollbackTarget } from './versions.js'
import type { HistoryStorage } from './history-storage.js'

/** How long code no manifest references yet is held in memory, waiting for its manifest. */
export const CODE_GRACE_MS = 60_000
/** How many such unreferenced blobs are held at once (each ≤ MAX_CODE_BYTES). */
export const MAX_PENDING_CODE = 16

export interface RegistryOptions {
  readonly codeGraceMs?: number
  readonly maxPendingCode?: number
  /** Times the grace period; the system clock unless given. */
  readonly clock?: Clock
  /**
   * Start from the stored deployments and republish them (default true). Clustered gateways
   * share their retained messages in Redis, which is newer than this gateway's copy (a function
   * may have been removed meanwhile): there it is false, and the registry starts empty and
   * learns every deployment from the retained messages its subscriptions replay.
   */
  readonly republish?: boolean
  /** Where version histories live when not in this registry's LevelDB (clustered: Redis, shared). */
  readonly histories?: HistoryStorage
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
 *
 * Each function also has a bounded version history (runtime/leader/versions.ts): a deploy
 * through the gateway (`deploy`, with who) or a changed manifest published directly is a new
 * version; `rollback` makes a kept one current; code of every kept version stays stored.
 */
export class Registry {
  private readonly manifests = new Map<string, Manifest>()
  /** Each function's bounded version history (`ver:<fn>` in the store). */
  private readonly histories = new Map<string, History>()
  /** Functions being removed: no new invocations (get() says not deployed), in-flight ones finish. */
  private readonly draining = new Set<string>()
  /** Manifest payloads this registry published itself, by function: their echo is not a new deploy. */
  private readonly echoes = new Map<string, string[]>()
  private readonly changeListeners = new Set<(fn: string) => void>()
  /** Size in bytes of each blob in the store (the store's `code:` keys, kept in memory). */
  private readonly stored = new Map<string, number>()
  private readonly pending = new Map<string, { text: string, timer: TimerHandle }>()
  private readonly db: Level<string, string>
  private chain: Promise<void> = Promise.resolve()
  private readonly graceMs: number
  private readonly maxPending: number
  private readonly clock: Clock
  private readonly republish: boolean
  private readonly historyStore: HistoryStorage | undefined

  constructor (dataDir: string, private readonly t: Transport, private readonly topics: Topics, private readonly log: Logger, o: RegistryOptions = {}) {
    this.db = new Level<string, string>(dataDir, { valueEncoding: 'utf8' })
    this.graceMs = o.codeGraceMs ?? CODE_GRACE_MS
    this.maxPending = o.maxPendingCode ?? MAX_PENDING_CODE
    this.clock = o.clock ?? systemClock
    this.republish = o.republish ?? true
    this.historyStore = o.histories
  }

  async start (): Promise<void> {
    await this.db.open()
    for await (const [key, value] of this.db.iterator({ gte: 'fn:', lt: 'fn;' })) {
      if (!this.republish) { await this.db.del(key); continue }
      try { this.manifests.set(key.slice(3), parseManifest(Buffer.from(value))) } catch (err) {
        this.log.warn('dropping a stored manifest that no longer validates', { key, err: (err as Error).message })
      }
    }
    if (this.historyStore !== undefined) {
      for (const [fn, h] of await this.historyStore.load()) this.histories.set(fn, h)
    } else {
      for await (const [key, value] of this.db.iterator({ gte: 'ver:', lt: 'ver;' })) {
        try { this.histories.set(key.slice(4), JSON.parse(value) as History) } catch { await this.db.del(key) }
      }
    }
    for (const [fn, m] of this.manifests) {
      if (this.histories.has(fn)) continue
      const h = addVersion(undefined, fn, m, this.clock.now(), null)
      this.histories.set(fn, h)
      await this.putHistory(fn, h)
    }
    for await (const [key, value] of this.db.iterator({ gte: 'code:', lt: 'code;' })) {
      const sha = key.slice(5)
      if (this.referenced(sha)) this.stored.set(sha, Buffer.byteLength(value, 'utf8')); else await this.db.del(key)
    }
    for (const m of this.republish ? this.manifests.values() : []) {
      const code = await this.code(m.sha256)
      if (code === undefined) { this.log.warn('stored manifest has no code; skipping', { fn: m.name }); continue }
      await this.t.publish(this.topics.code(m.sha256), Buffer.from(code), { retain: true })
      await this.t.publish(this.topics.fn(m.name), encode(m), { retain: true })
    }
    await this.t.subscribe(this.topics.functionsFilter, (msg) => { this.onManifest(msg.topic, msg.payload) })
    await this.t.subscribe(`${this.topics.prefix}/code/+`, (msg) => { this.onCode(msg.topic, msg.payload) })
  }

  /** The current manifest of `fn`; undefined when none, or while it is being removed. */
  get (fn: string): Manifest | undefined { return this.draining.has(fn) ? undefined : this.manifests.get(fn) }
  list (): Manifest[] { return [...this.manifests.values()] }
  history (fn: string): History | undefined { return this.histories.get(fn) }
  isDraining (fn: string): boolean { return this.draining.has(fn) }

  /**
   * A deploy the gateway acknowledges: a new version (made current, `by` = the deployer's
   * username), stored, and its manifest published retained for the boards.
   */
  deploy (m: Manifest, by: string | null): History {
    if (this.draining.has(m.name)) throw new WispError('WISP_BAD_CONFIG', `function ${m.name} is being removed; deploy it again once \`wisp rm\` has finished`)
    const size = this.stored.get(m.sha256) ?? this.heldSize(m.sha256)
    if (size !== undefined && size !== m.size) throw new WispError('WISP_BAD_CODE', `manifest says ${m.size} bytes; its code has ${size}`)
    return this.install(m, addVersion(this.histories.get(m.name), m.name, m, this.clock.now(), by), true)
  }

  /** Makes an earlier kept version current again (`to`, else the one before the current). */
  rollback (fn: string, to?: number): History {
    if (this.draining.has(fn)) throw new WispError('WISP_UNKNOWN_FUNCTION', `function ${fn} is being removed`)
    const h = this.histories.get(fn)
    const target = rollbackTarget(h, fn, to)
    if (!this.stored.has(target.sha256)) throw new WispError('WISP_BAD_CODE', `the code of version ${target.version} of ${fn} is no longer stored`)
    return this.install(target.manifest, makeCurrent(h as History, target.version), false)
  }

  /** Marks `fn` as being removed: from now on get() says it is not deployed (listeners hear of it). */
  drain (fn: string): boolean {
    if (!this.manifests.has(fn)) return false
    if (!this.draining.has(fn)) { this.draining.add(fn); this.changed(fn) } // triggers stop firing it
    return true
  }

  /** Removes `fn` for good: its manifest (retained message cleared), its history and unreferenced code. */
  remove (fn: string): void {
    this.draining.delete(fn)
    const prev = this.manifests.get(fn)
    const h = this.histories.get(fn)
    if (prev === undefined && h === undefined) return
    this.manifests.delete(fn)
    this.histories.delete(fn)
    this.enqueue(async () => { await this.db.del(`fn:${fn}`); await this.removeHistory(fn) })
    this.publishManifest(fn, '')
    this.log.info('function removed', { fn })
    this.collectAll([prev?.sha256, ...(h?.versions.map((v) => v.sha256) ?? [])])
    this.changed(fn)
  }

  private heldSize (sha: string): number | undefined {
    const held = this.pending.get(sha)
    return held === undefined ? undefined : Buffer.byteLength(held.text, 'utf8')
  }

  /** Makes `m` current with history `h`: in memory at once, then the store and the retained messages. */
  private install (m: Manifest, h: History, fresh: boolean): History {
    const fn = m.name
    const prev = this.manifests.get(fn)
    const old = this.histories.get(fn)
    this.manifests.set(fn, m)
    this.histories.set(fn, h)
    const text = JSON.stringify(m)
    this.enqueue(async () => { await this.db.put(`fn:${fn}`, text); await this.putHistory(fn, h) })
    const held = this.pending.get(m.sha256)
    if (held !== undefined) this.keep(m.sha256, held.text)
    else if (!fresh) this.enqueue(async () => { // the code of an old version: put its retained message back for the boards
      const code = await this.db.get(`code:${m.sha256}`)
      if (code !== undefined) await this.t.publish(this.topics.code(m.sha256), Buffer.from(code), { retain: true, qos: 1 })
    })
    this.publishManifest(fn, text)
    this.log.info(fresh ? 'function deployed' : 'function rolled back', { fn, version: h.current, sha256: m.sha256.slice(0, 12) })
    this.collectAll([prev?.sha256, ...(old?.versions.map((v) => v.sha256) ?? [])])
    this.changed(fn)
    return h
  }

  private publishManifest (fn: string, text: string): void {
    const list = this.echoes.get(fn) ?? []
    list.push(text)
    if (list.length > 16) list.shift() // an echo the broker never delivered is not waited for forever
    this.echoes.set(fn, list)
    this.enqueue(async () => await this.t.publish(this.topics.fn(fn), Buffer.from(text), { retain: true, qos: 1 }))
  }

  /** Whether `payload` on functions/<fn> is the echo of a publish of this registry (consumed once). */
  private isEcho (fn: string, payload: Buffer): boolean {
    const list = this.echoes.get(fn)
    const i = list?.indexOf(payload.toString('utf8')) ?? -1
    if (list === undefined || i < 0) return false
    list.splice(i, 1)
    if (list.length === 0) this.echoes.delete(fn)
    return true
  }

  private collectAll (shas: ReadonlyArray<string | undefined>): void {
    for (const sha of new Set(shas)) if (sha !== undefined) this.collect(sha)
  }

  /** Calls `l` with the name of each function deployed, redeployed or removed, once the view has it. */
  onChange (l: (fn: string) => void): () => void { this.changeListeners.add(l); return () => this.changeListeners.delete(l) }

  private changed (fn: string): void {
    for (const l of this.changeListeners) {
      try { l(fn) } catch (err) { this.log.warn('registry listener failed', { fn, err: (err as Error).message }) }
    }
  }

  async code (sha: string): Promise<string | undefined> {
    await this.chain
    return await this.db.get(`code:${sha}`)
  }

  /** Resolves once the store has caught up with every message received so far. */
  async settled (): Promise<void> { await this.chain }

  async close (): Promise<void> {
    for (const p of this.pending.values()) this.clock.clearTimeout(p.timer)
    this.pending.clear()
    await this.chain
    await this.db.close()
  }

  private async putHistory (fn: string, h: History): Promise<void> {
    if (this.historyStore !== undefined) await this.historyStore.put(fn, h); else await this.db.put(`ver:${fn}`, JSON.stringify(h))
  }

  private async removeHistory (fn: string): Promise<void> {
    if (this.historyStore !== undefined) await this.historyStore.remove(fn); else await this.db.del(`ver:${fn}`)
  }

  /** Store and broker writes, one at a time in arrival order; the in-memory view is already current. */
  private enqueue (fn: () => Promise<void>): void {
    this.chain = this.chain.then(fn).catch((err: Error) => this.log.warn('registry update failed', { err: err.message }))
  }

  private referenced (sha: string, size?: number): boolean {
    for (const m of this.manifests.values()) if (m.sha256 === sha && (size === undefined || m.size === size)) return true
    for (const h of this.histories.values()) {
      if (historyReferences(h, sha) && (size === undefined || h.versions.some((v) => v.sha256 === sha && v.size === size))) return true
    }
    return false
  }

  /** Takes effect at once (an invoke right after a deploy finds it); the store follows. */
  private onManifest (topic: string, payload: Buffer): void {
    const fn = topic.slice(topic.lastIndexOf('/') + 1)
    if (this.isEcho(fn, payload)) return
    const prev = this.manifests.get(fn)
    if (payload.length === 0) { // an empty retained message deletes (MQTT 3.1.1 §3.3.1.3)
      if (prev === undefined) return
      this.remove(fn)
      return
    }
    let m: Manifest
    try {
      m = parseManifest(payload)
      if (m.name !== fn) throw new Error(`manifest name "${m.name}" does not match topic`)
      const held = this.pending.get(m.sha256)
      const size = this.stored.get(m.sha256) ?? (held === undefined ? undefined : Buffer.byteLength(held.text, 'utf8'))
      if (size !== undefined && size !== m.size) throw new Error(`manifest says ${m.size} bytes; its code has ${size}`)
    } catch (err) {
      this.log.warn('ignoring a bad manifest', { topic, err: (err as Error).message })
      return
    }
    // A manifest published directly (not through the gateway's deploy): a new version when it
    // differs. A registry that starts empty (clustered) compares the replayed retained manifest
    // with the current version of the shared history instead.
    const h = this.histories.get(fn)
    const same = JSON.stringify(prev ?? currentVersion(h)?.manifest) === JSON.stringify(m)
    const history = h !== undefined && same ? h : addVersion(h, fn, m, this.clock.now(), null)
    this.manifests.set(fn, m)
    this.histories.set(fn, history)
    this.enqueue(async () => { await this.db.put(`fn:${fn}`, payload.toString('utf8')); await this.putHistory(fn, history) })
    const held = this.pending.get(m.sha256)
    if (held !== undefined) this.keep(m.sha256, held.text)
    if (prev?.sha256 !== m.sha256) this.log.info('function deployed', { fn, sha256: m.sha256.slice(0, 12) })
    this.collectAll([prev?.sha256, ...(h?.versions.map((v) => v.sha256) ?? [])])
    this.changed(fn)
  }

  private onCode (topic: string, payload: Buffer): void {
    const sha = topic.slice(topic.lastIndexOf('/') + 1)
    if (payload.length === 0) return
    const problem = codeProblem(sha, payload)
    if (problem !== null) { this.reject(sha, problem); return }
    if (this.stored.has(sha)) return
    const text = payload.toString('utf8')
    if (this.referenced(sha, payload.length)) { this.keep(sha, text); return }
    if (this.referenced(sha)) { this.reject(sha, 'code whose size does not match its manifest'); return }
    this.hold(sha, text)
  }

  /** Code that no manifest references yet: held for a while, in bounded memory. */
  private hold (sha: string, text: string): void {
    if (this.pending.has(sha)) return
    while (this.pending.size >= this.maxPending) {
      const oldest = this.pending.keys().next().value as string
      this.expire(oldest)
    }
    const timer = this.clock.setTimeout(() => this.expire(sha), this.graceMs)
    this.pending.set(sha, { text, timer })
  }

  private drop (sha: string): void {
    const p = this.pending.get(sha)
    if (p !== undefined) this.clock.clearTimeout(p.timer)
    this.pending.delete(sha)
  }

  private keep (sha: string, text: string): void {
    this.drop(sha)
    this.stored.set(sha, Buffer.byteLength(text, 'utf8'))
    this.enqueue(async () => await this.db.put(`code:${sha}`, text))
  }

  private expire (sha: string): void {
    this.drop(sha)
    if (this.referenced(sha) || this.stored.has(sha)) return
    this.log.info('clearing code no manifest claimed', { sha256: sha.slice(0, 12) })
    this.clearRetained(sha)
  }

  /** Deletes a stored blob no manifest references any longer, and its retained message. */
  private collect (sha: string): void {
    if (this.referenced(sha)) return
    this.drop(sha)
    this.stored.delete(sha)
    this.enqueue(async () => await this.db.del(`code:${sha}`))
    this.clearRetained(sha)
    this.log.info('code collected', { sha256: sha.slice(0, 12) })
  }

  /** A bad blob on a code topic: put the real code back when stored, else clear the topic. */
  private reject (sha: string, why: string): void {
    this.log.warn('ignoring bad code', { sha256: sha.slice(0, 12), why })
    this.enqueue(async () => {
      const real = this.stored.has(sha) ? await this.db.get(`code:${sha}`) : undefined
      if (real !== undefined) await this.t.publish(this.topics.code(sha), Buffer.from(real), { retain: true })
      else await this.t.publish(this.topics.code(sha), Buffer.alloc(0), { retain: true })
    })
  }

  private clearRetained (sha: string): void {
    this.enqueue(async () => await this.t.publish(this.topics.code(sha), Buffer.alloc(0), { retain: true }))
  }
}
