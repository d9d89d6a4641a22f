import { Level } from 'level'
import { parseManifest, encode, type Manifest } from '../protocol/messages.js'
import type { Topics } from '../protocol/topics.js'
import type { Transport } from '../transport/transport.js'
import { sha256 } from '../shared/deploy.js'
import type { Logger } from '../shared/log.js'

/**
 * The gateway's durable function registry: manifests and code (by sha256) in LevelDB.
 * It learns deployments from the retained `functions/+` and `code/+` topics and republishes
 * them when the gateway starts, so a broker restart loses no deployment.
 */
export class Registry {
  private readonly manifests = new Map<string, Manifest>()
  private readonly db: Level<string, string>

  constructor (dataDir: string, private readonly t: Transport, private readonly topics: Topics, private readonly log: Logger) {
    this.db = new Level<string, string>(dataDir, { valueEncoding: 'utf8' })
  }

  async start (): Promise<void> {
    await this.db.open()
    for await (const [key, value] of this.db.iterator({ gte: 'fn:', lt: 'fn;' })) {
      try { this.manifests.set(key.slice(3), parseManifest(Buffer.from(value))) } catch (err) {
        this.log.warn('dropping a stored manifest that no longer validates', { key, err: (err as Error).message })
      }
    }
    for (const m of this.manifests.values()) {
      const code = await this.code(m.sha256)
      if (code === undefined) { this.log.warn('stored manifest has no code; skipping', { fn: m.name }); continue }
      await this.t.publish(this.topics.code(m.sha256), Buffer.from(code), { retain: true })
      await this.t.publish(this.topics.fn(m.name), encode(m), { retain: true })
    }
    await this.t.subscribe(this.topics.functionsFilter, (msg) => { void this.onManifest(msg.topic, msg.payload) })
    await this.t.subscribe(`${this.topics.prefix}/code/+`, (msg) => { void this.onCode(msg.topic, msg.payload) })
  }

  get (fn: string): Manifest | undefined { return this.manifests.get(fn) }
  list (): Manifest[] { return [...this.manifests.values()] }

  async code (sha: string): Promise<string | undefined> {
    return await this.db.get(`code:${sha}`)
  }

  async close (): Promise<void> { await this.db.close() }

  private async onManifest (topic: string, payload: Buffer): Promise<void> {
    const fn = topic.slice(topic.lastIndexOf('/') + 1)
    if (payload.length === 0) { // an empty retained message deletes (MQTT 3.1.1 §3.3.1.3)
      this.manifests.delete(fn)
      await this.db.del(`fn:${fn}`)
      this.log.info('function removed', { fn })
      return
    }
    try {
      const m = parseManifest(payload)
      if (m.name !== fn) throw new Error(`manifest name "${m.name}" does not match topic`)
      const prev = this.manifests.get(fn)
      this.manifests.set(fn, m)
      await this.db.put(`fn:${fn}`, payload.toString('utf8'))
      if (prev?.sha256 !== m.sha256) this.log.info('function deployed', { fn, sha256: m.sha256.slice(0, 12) })
    } catch (err) {
      this.log.warn('ignoring a bad manifest', { topic, err: (err as Error).message })
    }
  }

  private async onCode (topic: string, payload: Buffer): Promise<void> {
    const sha = topic.slice(topic.lastIndexOf('/') + 1)
    if (payload.length === 0) return
    const text = payload.toString('utf8')
    if (sha256(text) !== sha) { this.log.warn('ignoring code whose hash does not match its topic', { topic }); return }
    await this.db.put(`code:${sha}`, text)
  }
}
