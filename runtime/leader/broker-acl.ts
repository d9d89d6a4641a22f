import { NAME_RE, SHA256_RE } from '../protocol/topics.js'
import type { Role } from '../shared/roles.js'

/**
 * The access rules of the embedded broker, as pure functions of (prefix, username, role):
 * - admin: everything (deploy, remove, control boards, read all traffic);
 * - board `<u>`: publish only `<p>/boards/<u>/state` (retained, also its Will), `<p>/boards/<u>/done`
 *   and `<p>/boards/<u>/cap` (its handlers' capability calls, which the leader checks);
 *   read only its own `run`/`control`/`cap-reply`, the manifests (`<p>/functions/+`) and code by exact hash;
 * - client `<u>`: publish only `<p>/invoke/<fn>` and `<p>/invoke/<fn>/<u>/<req>`, never retained;
 *   read only under `<p>/result/<u>/`.
 * The username of a board is its board id; the `<client>` of a client's invokes is its username.
 * Admin requests (`<p>/admin/<client>/<req>`) are for admins, each under its own username (the
 * gateway records it as who deployed). Topics outside the prefix (trigger topics such as `sensors/+/temp`) and the dead letters
 * (`<p>/dead/<fn>`) are for admins; the leader itself hears trigger topics in-process (embedded
 * broker) or as an admin (external broker).
 */
export const mayPublish = (p: string, u: string, role: Role, topic: string, retain: boolean): boolean => {
  if (role === 'admin') return !topic.startsWith(`${p}/admin/`) || topic.split('/')[2] === u
  if (role === 'board') return topic === `${p}/boards/${u}/state` || (!retain && (topic === `${p}/boards/${u}/done` || topic === `${p}/boards/${u}/cap`))
  if (retain) return false
  const parts = topic.split('/')
  if (parts[0] !== p || parts[1] !== 'invoke' || !NAME_RE.test(parts[2] ?? '')) return false
  return parts.length === 3 || (parts.length === 5 && parts[3] === u)
}

export const maySubscribe = (p: string, u: string, role: Role, filter: string): boolean => {
  if (role === 'admin') return true
  if (role === 'board') {
    if (filter === `${p}/boards/${u}/run` || filter === `${p}/boards/${u}/control` || filter === `${p}/boards/${u}/cap-reply` || filter === `${p}/functions/+`) return true
    const parts = filter.split('/')
    return parts.length === 3 && parts[0] === p && parts[1] === 'code' && SHA256_RE.test(parts[2] ?? '')
  }
  return filter.startsWith(`${p}/result/${u}/`)
}

/**
 * The account a client id belongs to: the longest username `u` with id `u` or `u-…`. A client
 * id that belongs to no one, or to another account, is refused, so no account can knock another
 * off the broker by connecting with its client id (MQTT 3.1.1 §3.1.4: the old session is closed).
 */
export const ownerOfClientId = (clientId: string, usernames: Iterable<string>): string | null => {
  let owner: string | null = null
  for (const u of usernames) {
    if ((clientId === u || clientId.startsWith(`${u}-`)) && (owner === null || u.length > owner.length)) owner = u
  }
  return owner
}
