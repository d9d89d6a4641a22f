import { isIP } from 'node:net'
import { WispError } from '../shared/errors.js'

const bad = (msg: string): WispError => new WispError('WISP_BAD_CONFIG', msg)

/** Loopback by name or address: 127.0.0.0/8 (RFC 1122 §3.2.1.3), ::1 (RFC 4291 §2.5.3), localhost (RFC 6761 §6.3). */
export const isLoopbackHost = (hostname: string): boolean => {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase()
  if (host === 'localhost' || host.endsWith('.localhost')) return true
  if (isIP(host) === 4) return host.startsWith('127.')
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1'
  return false
}

/**
 * Checks the broker a board joins. Plain mqtt:// and ws:// carry the board's password in the
 * clear (MQTT 3.1.1 §3.1.3.5 sends it as is in CONNECT), so they are refused for any host
 * but loopback unless the user says the network is trusted.
 */
export const checkBrokerUrl = (raw: string, insecure: boolean): void => {
  let u: URL
  try { u = new URL(raw) } catch { throw bad(`--broker must be a URL such as mqtts://gateway.local:8883, got "${raw}"`) }
  if (!['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(u.protocol)) throw bad(`--broker must use mqtt, mqtts, ws or wss, got "${u.protocol.slice(0, -1)}"`)
  if (u.hostname === '') throw bad(`--broker has no host: "${raw}"`)
  const plain = u.protocol === 'mqtt:' || u.protocol === 'ws:'
  if (plain && !insecure && !isLoopbackHost(u.hostname)) {
    const tls = u.protocol === 'mqtt:' ? 'mqtts' : 'wss'
    throw bad(`--broker ${raw} would send the board's password unencrypted to ${u.hostname}; use ${tls}://, or add --insecure on a network you trust`)
  }
}
