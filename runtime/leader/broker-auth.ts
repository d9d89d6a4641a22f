import type { AedesOptions, AuthenticateError } from 'aedes'
import type { Topics } from '../protocol/topics.js'
import { accountChecker } from '../shared/password.js'
import type { Role } from '../shared/roles.js'
import { mayPublish, maySubscribe, ownerOfClientId } from './broker-acl.js'

/** A broker account: a salted scrypt hash (runtime/shared/password.ts) and a role. */
export interface BrokerUser {
  readonly password_hash: string
  readonly role: Role
}

type BrokerHooks = Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'>

/**
 * Authentication and ACLs of the embedded broker (rules in broker-acl.ts). MQTT 3.1.1 has no
 * negative PUBACK: a forbidden PUBLISH closes the connection (§4.8 leaves this to the server),
 * a forbidden SUBSCRIBE gets return code 0x80 (§3.9.3). The in-process leader publishes with
 * `client === null` and is not checked.
 */
export const brokerAuth = (users: Readonly<Record<string, BrokerUser>>, topics: Topics): BrokerHooks => {
  const p = topics.prefix
  const names = Object.keys(users)
  // aedes keeps no username on its clients: remember who authenticated as whom.
  const who = new WeakMap<object, { name: string, role: Role }>()
  // An unknown name costs one scrypt too, so timing does not tell which accounts exist.
  const check = accountChecker(users)
  const refuse = (done: (err: AuthenticateError | null, ok: boolean | null) => void, code: 2 | 4, why: string): void => {
    const err = new Error(why) as AuthenticateError
    err.returnCode = code // §3.2.2.3: 2 identifier rejected, 4 bad user name or password
    done(err, false)
  }
  return {
    authenticate: (client, username, password, done) => {
      check(username, password?.toString('utf8') ?? '').then((user) => {
        if (user === null || username === undefined || password === undefined) { refuse(done, 4, 'bad username or password'); return }
        if (ownerOfClientId(client.id, names) !== username) { refuse(done, 2, `client id "${client.id.slice(0, 80)}" must be "${username}" or begin with "${username}-"`); return }
        who.set(client, { name: username, role: user.role })
        done(null, true)
      }, () => { refuse(done, 4, 'bad username or password') })
    },
    authorizePublish: (client, packet, done) => {
      if (client === null) { done(null); return } // the broker's own publishes (the in-process leader)
      const u = who.get(client)
      if (u !== undefined && mayPublish(p, u.name, u.role, packet.topic, packet.retain)) { done(null); return }
      done(new Error(`${u?.name ?? 'unknown'} may not publish${packet.retain ? ' retained' : ''} to ${packet.topic}`))
    },
    authorizeSubscribe: (client, sub, done) => {
      const u = who.get(client)
      done(null, u !== undefined && maySubscribe(p, u.name, u.role, sub.topic) ? sub : null)
    }
  }
}
