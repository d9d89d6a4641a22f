import { createHash, timingSafeEqual } from 'node:crypto'
import type { AedesOptions, AuthenticateError } from 'aedes'
import { topicMatches } from '../transport/transport.js'
import type { Topics } from '../protocol/topics.js'

/** A broker account. `client` may only use its own reply space; `board` only its own board topics. */
export interface BrokerUser {
  readonly password_sha256: string
  readonly role: 'client' | 'board' | 'admin'
}

const sha256 = (b: Buffer | string): Buffer => createHash('sha256').update(b).digest()

/**
 * Authentication and ACLs for the embedded broker. With accounts configured, `<client>` in
 * an invoke topic must be the MQTT username and a client may subscribe only to
 * `<prefix>/result/<username>/#` (the ACL pattern `wisp/result/%u/#`), so replies stay private.
 * MQTT 3.1.1 has no negative PUBACK: a forbidden PUBLISH closes the connection (§4.8 leaves
 * this to the server), a forbidden SUBSCRIBE gets return code 0x80 (§3.9.3).
 */
export const brokerAuth = (users: Readonly<Record<string, BrokerUser>>, topics: Topics): Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'> => {
  const p = topics.prefix
  // aedes keeps no username on its clients: remember who authenticated as whom.
  const who = new WeakMap<object, string>()
  const role = (username: string | undefined): BrokerUser['role'] | null => (username !== undefined ? users[username]?.role ?? null : null)
  const mayPublish = (u: string, r: BrokerUser['role'], topic: string): boolean => {
    if (r === 'admin') return true
    if (r === 'board') return topicMatches(`${p}/boards/${u}/+`, topic) && (topic.endsWith('/state') || topic.endsWith('/done'))
    return topicMatches(`${p}/invoke/+`, topic) || topicMatches(`${p}/invoke/+/${u}/+`, topic)
  }
  // Readable by every account: deployments, code by hash, board gossip, the leader's view.
  const shared = new Set([`${p}/leader/state`, `${p}/functions/+`, `${p}/functions/#`, `${p}/boards/+/state`])
  const maySubscribe = (u: string, r: BrokerUser['role'], filter: string): boolean => {
    if (r === 'admin' || shared.has(filter)) return true
    if (/^[^+#]*$/.test(filter) && topicMatches(`${p}/code/+`, filter)) return true
    if (r === 'board') return filter === `${p}/boards/${u}/run` || filter === `${p}/boards/${u}/control`
    const own = `${p}/result/${u}/`
    return filter.startsWith(own) && !/[+#]/.test(u)
  }
  return {
    authenticate: (client, username, password, done) => {
      const user = username !== undefined ? users[username] : undefined
      const ok = user !== undefined && password !== undefined &&
        timingSafeEqual(sha256(password), Buffer.from(user.password_sha256, 'hex'))
      if (ok) { who.set(client, username as string); done(null, true); return }
      const err = new Error('bad username or password') as AuthenticateError
      err.returnCode = 4 // MQTT 3.1.1 §3.2.2.3: Connection Refused, bad user name or password
      done(err, false)
    },
    authorizePublish: (client, packet, done) => {
      if (client === null) { done(null); return } // the broker's own publishes (the in-process leader)
      const username = who.get(client)
      const r = role(username)
      if (username !== undefined && r !== null && mayPublish(username, r, packet.topic)) { done(null); return }
      done(new Error(`${String(username)} may not publish to ${packet.topic}`))
    },
    authorizeSubscribe: (client, sub, done) => {
      const username = who.get(client)
      const r = role(username)
      done(null, username !== undefined && r !== null && maySubscribe(username, r, sub.topic) ? sub : null)
    }
  }
}
