import { codeProblem } from '../protocol/code.js'
import type { Topics } from '../protocol/topics.js'
import { systemClock, type Clock } from '../shared/clock.js'
import { WispError } from '../shared/errors.js'
import type { Transport } from '../transport/transport.js'

/** The few LevelDB operations the store needs (a `Level<string, string>` fits). */
export interface StringKv {
  get: (key: string) => Promise<string | undefined>
  put: (key: string, value: string) => Promise<void>
}

/**
 * Function code by sha256: memory, then LevelDB, then the retained `<prefix>/code/<sha256>`
 * topic. Fetched code must have the size its manifest names (at most MAX_CODE_BYTES, checked
 * before anything is hashed or decoded) and the hash of its topic before it is trusted.
 */
export class CodeStore {
  private readonly mem = new Map<string, string>()
  private readonly fetching = new Map<string, Promise<string>>()

  constructor (private readonly db: StringKv, private readonly t: Transport, private readonly topics: Topics, private readonly fetchTimeoutMs = 5000, private readonly clock: Clock = systemClock) {}

  async get (sha: string, size?: number): Promise<string> {
    const hit = this.mem.get(sha)
    if (hit !== undefined) return hit
    const stored = await this.db.get(sha)
    if (stored !== undefined) { this.mem.set(sha, stored); return stored }
    let p = this.fetching.get(sha)
    if (p === undefined) {
      p = this.fetch(sha, size).finally(() => this.fetching.delete(sha))
      this.fetching.set(sha, p)
    }
    return await p
  }

  private async fetch (sha: string, size: number | undefined): Promise<string> {
    const topic = this.topics.code(sha)
    const code = await new Promise<string>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.t.unsubscribe(topic).catch(() => {})
        reject(new WispError('WISP_BAD_CODE', `code ${sha.slice(0, 12)} is not published on ${topic}`))
      }, this.fetchTimeoutMs)
      this.t.subscribe(topic, (msg) => {
        if (codeProblem(sha, msg.payload, size) !== null) return
        const text = msg.payload.toString('utf8')
        this.clock.clearTimeout(timer)
        this.t.unsubscribe(topic).catch(() => {})
        resolve(text)
      }).catch((err: Error) => { this.clock.clearTimeout(timer); reject(err) })
    })
    await this.db.put(sha, code)
    this.mem.set(sha, code)
    return code
  }
}
