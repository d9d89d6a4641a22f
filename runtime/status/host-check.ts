import { isIP } from 'node:net'
import { hostname } from 'node:os'

/**
 * Host header check against DNS rebinding: a page on 127.0.0.1 (or a LAN address) must not
 * answer a browser that was sent there by a name the attacker controls (evil.example resolving
 * to 127.0.0.1 makes the page same-origin with the attacker's script). An IP literal cannot be
 * rebound, so it passes; a name passes when it is localhost, this machine's host name (also
 * `.local`), or one the operator listed.
 */
export const hostChecker = (allowed: readonly string[] = []): ((header: string | undefined) => boolean) => {
  const me = hostname().toLowerCase()
  const names = new Set(['localhost', me, `${me}.local`, ...allowed.map((h) => h.toLowerCase())])
  return (header) => {
    if (header === undefined || header === '') return false
    const h = header.toLowerCase()
    const name = h.startsWith('[') ? h.slice(1, h.indexOf(']')) : h.replace(/:\d+$/, '')
    if (isIP(name) !== 0) return true
    return names.has(name.replace(/\.$/, ''))
  }
}
