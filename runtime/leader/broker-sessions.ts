import { createRequire } from 'node:module'
import { Level } from 'level'
import { openLevel } from '../shared/level-open.js'
import type { Logger } from '../shared/log.js'
import { SessionQueues } from './session-queue.js'

interface Sub { topic: string, qos: number, rh?: number, rap?: boolean, nl?: boolean }
interface ClientRef { id: string }

/** The promise face of aedes-persistence 11 (its callbacks are optional; its types declare only them). */
interface PromisePersistence {
  addSubscriptions: (client: ClientRef, subs: Sub[]) => Promise<void>
  removeSubscriptions: (client: ClientRef, topics: string[]) => Promise<void>
  cleanSubscriptions: (client: ClientRef) => Promise<unknown>
}

const KEY = 'sub:'
// The CommonJS factory aedes itself uses by default (its type declarations do not model the default export).
const memory = createRequire(import.meta.url)('aedes-persistence') as () => unknown

/**
 * aedes's in-memory persistence, with the subscriptions of persistent sessions (clean = false,
 * MQTT 3.1.1 §3.1.2.4) kept in LevelDB in the gateway's data folder. After a broker restart a
 * persistent session's subscriptions exist before any client reconnects, so QoS 1 messages
 * published to it meanwhile are queued for it (§3.1.2.4: "QoS 1 and QoS 2 messages which
 * match any subscriptions") and it finds its session present. Queued messages themselves and
 * retained messages stay in memory: wisp republishes what it needs retained (registry) and
 * the leader's own table re-dispatches work (inflight-store.ts). The messages queued per
 * session are kept by `queues` (session-queue.ts): O(1) per message, and bounded.
 */
export class BrokerSessions {
  /** Give this to aedes as its `persistence`. */
  readonly persistence: unknown
  /** The messages queued for persistent sessions (sent and unacknowledged, or waiting for the client). */
  readonly queues = new SessionQueues()
  private readonly subs = new Map<string, Map<string, Sub>>()
  private chain: Promise<void> = Promise.resolve()

  private constructor (private readonly db: Level<string, string>, private readonly log: Logger) {
    const p = memory() as unknown as PromisePersistence
    const add = p.addSubscriptions.bind(p)
    const remove = p.removeSubscriptions.bind(p)
    const clean = p.cleanSubscriptions.bind(p)
    // aedes calls these only for clean = false sessions (and cleanSubscriptions on a clean connect).
    p.addSubscriptions = async (client, list) => {
      await add(client, list)
      const m = this.subs.get(client.id) ?? new Map<string, Sub>()
      for (const s of list) m.set(s.topic, { topic: s.topic, qos: s.qos, rh: s.rh, rap: s.rap, nl: s.nl })
      this.subs.set(client.id, m)
      await this.write(client.id)
    }
    p.removeSubscriptions = async (client, topics) => {
      await remove(client, topics)
      const m = this.subs.get(client.id)
      if (m === undefined) return
      for (const t of topics) m.delete(t)
      await this.write(client.id)
    }
    p.cleanSubscriptions = async (client) => {
      const out = await clean(client)
      if (this.subs.delete(client.id)) await this.write(client.id)
      return out
    }
    this.queues.install(p)
    this.persistence = p
    this.restoreInto = add
  }

  private readonly restoreInto: PromisePersistence['addSubscriptions']

  static async open (dir: string, log: Logger): Promise<BrokerSessions> {
    const db = new Level<string, string>(dir, { valueEncoding: 'utf8' })
    await openLevel(db, dir, 'choose another data folder (wisp start --data-dir DIR, or data_dir in the gateway config)')
    return new BrokerSessions(db, log)
  }

  /** Loads the stored sessions into the persistence; call after aedes has set it up, before clients connect. */
  async restore (): Promise<number> {
    for await (const [key, value] of this.db.iterator({ gte: KEY, lt: 'sub;' })) {
      try {
        const list = JSON.parse(value) as Sub[]
        const id = key.slice(KEY.length)
        this.subs.set(id, new Map(list.map((s) => [s.topic, s])))
        await this.restoreInto({ id }, list)
      } catch (err) {
        this.log.warn('dropping a stored MQTT session that does not parse', { key, err: (err as Error).message })
      }
    }
    return this.subs.size
  }

  async close (): Promise<void> {
    await this.chain
    await this.db.close()
  }

  /** One write at a time, in order, so a later state of a session never loses to an earlier one. */
  private async write (id: string): Promise<void> {
    const m = this.subs.get(id)
    const value = m === undefined || m.size === 0 ? null : JSON.stringify([...m.values()])
    const next = this.chain.then(async () => { if (value === null) await this.db.del(KEY + id); else await this.db.put(KEY + id, value) })
      .catch((err: Error) => this.log.warn('session write failed', { client: id, err: err.message }))
    this.chain = next
    await next
  }
}
