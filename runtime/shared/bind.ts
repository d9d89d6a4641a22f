import { isIP } from 'node:net'
import { WispError } from './errors.js'

/** True for names and addresses that only this machine can reach: 127.0.0.0/8, ::1 and localhost. */
export const isLoopbackHost = (host: string): boolean => {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  if (h === 'localhost' || h.endsWith('.localhost')) return true
  if (isIP(h) === 4) return h.startsWith('127.')
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h)
  return false
}

/**
 * Open mode (no broker accounts) is for one machine: a listener on any other interface would
 * let every host on the network deploy, invoke and shut boards down. Throws WISP_BAD_CONFIG
 * naming the fix.
 */
export const requireLoopbackInOpenMode = (what: string, host: string, flag: string): void => {
  if (isLoopbackHost(host)) return
  throw new WispError('WISP_BAD_CONFIG',
    `refusing to serve ${what} on ${host} without broker accounts: anyone on that network could deploy, invoke and control boards. ` +
    `Add "users" to the gateway config (see SECURITY.md; \`wisp users add NAME --role admin\`) or set ${flag} to 127.0.0.1`)
}

/** URL form of a listening host: a wildcard shows as 127.0.0.1, an IPv6 address in brackets. */
export const urlHost = (host: string): string =>
  host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
