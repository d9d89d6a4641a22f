import { randomBytes } from 'node:crypto'
import type { Command } from 'commander'
import type { AdminRequest } from '../protocol/admin.js'
import { isErrorCode, WispError } from '../shared/errors.js'
import type { Transport } from '../transport/transport.js'
import { clientIdFor, credentials, addCredentialOptions } from './credentials.js'
import { parseDuration } from './duration.js'
import { NAME_RE, NAME_RULE } from '../protocol/topics.js'

/** How long a command waits for the gateway's reply by default. */
export const DEFAULT_ACK_TIMEOUT_MS = 5000

export interface AdminFlags { broker: string, ackTimeout: string, username?: string, password?: string, ca?: string }

/** The connection flags of every command that asks the gateway (those of `wisp deploy`, and --ack-timeout). */
export const addAdminOptions = (cmd: Command): Command => addCredentialOptions(cmd
  .option('--broker <url>', 'MQTT broker of the cluster', 'mqtt://127.0.0.1:1883')
  .option('--ack-timeout <duration>', 'how long to wait for the gateway to answer (e.g. 5s); past it WISP_NO_GATEWAY', '5s'))

type WithoutV<T> = T extends unknown ? Omit<T, 'v'> : never
/** `onProgress` hears a long request's progress lines; each one restarts the wait (timeoutMs) for the next line or the reply. */
export type Ask = (request: WithoutV<AdminRequest>, timeoutMs?: number, onProgress?: (p: unknown) => void) => Promise<unknown>

/**
 * Connects with the command's account and runs `body` with `ask`: one admin request on
 * `<p>/admin/<user>/<req>`, its reply awaited on `…/reply`. No reply within the timeout is
 * WISP_NO_GATEWAY (the broker answers, no gateway does); an error reply is thrown as its WispError.
 */
export const withGateway = async <T>(o: AdminFlags, body: (ask: Ask, t: Transport, ackTimeoutMs: number) => Promise<T>): Promise<T> => {
  const { Topics } = await import('../protocol/topics.js')
  const { adminProgressTopic, adminReplyTopic, adminRequestTopic } = await import('../protocol/admin.js')
  const { MqttTransport } = await import('../transport/mqtt-transport.js')
  const { encode } = await import('../protocol/messages.js')
  const ackTimeoutMs = parseDuration('--ack-timeout', o.ackTimeout)
  const c = credentials(o)
  const topics = new Topics()
  const client = c.username ?? 'anonymous'
  const t = await MqttTransport.open({ url: o.broker, clientId: clientIdFor(c, `admin-${randomBytes(4).toString('hex')}`), ...c, reconnect: false })
  const ask: Ask = async (request, timeoutMs = ackTimeoutMs, onProgress) => {
    const req = randomBytes(8).toString('hex')
    const replyTopic = adminReplyTopic(topics.prefix, client, req)
    const progressTopic = adminProgressTopic(topics.prefix, client, req)
    try {
      return await new Promise<unknown>((resolve, reject) => {
        const silent = (ms: number) => (): void => reject(new WispError('WISP_NO_GATEWAY', `no wisp gateway answered on ${o.broker} within ${ms} ms (is \`wisp gateway\` or \`wisp start\` running on this broker? --ack-timeout waits longer)`))
        // A request with progress hears its first line within the ack timeout, then each next one within timeoutMs.
        const first = onProgress === undefined ? timeoutMs : Math.min(timeoutMs, ackTimeoutMs)
        let timer = setTimeout(silent(first), first)
        const listening = onProgress === undefined
          ? Promise.resolve()
          : t.subscribe(progressTopic, (m) => {
            clearTimeout(timer)
            timer = setTimeout(silent(timeoutMs), timeoutMs)
            try { onProgress(JSON.parse(m.payload.toString('utf8'))) } catch { /* a progress line that is not JSON is skipped */ }
          })
        void listening.then(async () => await t.subscribe(replyTopic, (m) => {
          clearTimeout(timer)
          let r: { ok?: unknown, result?: unknown, error?: { code?: unknown, message?: unknown } }
          try { r = JSON.parse(m.payload.toString('utf8')) } catch { reject(new WispError('WISP_BAD_PAYLOAD', 'the gateway\'s reply is not JSON')); return }
          if (r.ok === true) { resolve(r.result); return }
          const code = isErrorCode(r.error?.code) ? r.error.code : 'WISP_BAD_PAYLOAD'
          reject(new WispError(code, typeof r.error?.message === 'string' ? r.error.message : 'the gateway refused the request'))
        })).then(async () => { await t.publish(adminRequestTopic(topics.prefix, client, req), encode({ v: 1, ...request }), { qos: 1 }) })
          .catch((err: Error) => { clearTimeout(timer); reject(new WispError('WISP_UNAUTHORIZED', `the broker refused the request (an admin account is needed): ${err.message}`)) })
      })
    } finally {
      await t.unsubscribe(replyTopic).catch(() => {})
      if (onProgress !== undefined) await t.unsubscribe(progressTopic).catch(() => {})
    }
  }
  // A broker that refuses a PUBLISH (no admin account) closes the connection, and what was in flight never settles.
  let closing = false
  let gone = false
  const closed = new Promise<never>((_resolve, reject) => {
    t.onClose(() => { gone = true; if (!closing) reject(new WispError('WISP_UNAUTHORIZED', `the broker at ${o.broker} closed the connection: it refused the request (this needs an admin account)`)) })
  })
  closed.catch(() => {})
  try { return await Promise.race([body(ask, t, ackTimeoutMs), closed]) } finally {
    closing = true
    if (!gone) await t.close() // ending a connection the broker closed would never settle
  }
}

/** A function name as the contract allows it (checked before any connection). */
export const checkName = (fn: string): string => {
  if (!NAME_RE.test(fn)) throw new WispError('WISP_BAD_CONFIG', `function name "${fn.slice(0, 80)}" must be ${NAME_RULE}`)
  return fn
}

/** Lays out rows as aligned columns. */
export const table = (rows: ReadonlyArray<readonly string[]>): string => {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0))) ?? []
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd() + '\n').join('')
}
