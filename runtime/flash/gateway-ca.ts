import { X509Certificate } from 'node:crypto'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { WispError } from '../shared/errors.js'
import { CONFIG_DIR } from './systemd.js'

/** Where first boot puts the gateway's CA; public, so user-data may carry it. */
export const GATEWAY_CA_PATH = `${CONFIG_DIR}/gateway-ca.pem`

const bad = (msg: string): WispError => new WispError('WISP_BAD_CONFIG', msg)

/**
 * Reads `--ca`: the PEM certificate (or chain) of the authority that signed the gateway's
 * broker certificate, for gateways with a private CA. The agent trusts it through
 * NODE_EXTRA_CA_CERTS, on top of the system's roots, so the board config needs no TLS field.
 */
export const readGatewayCa = (file: string | undefined, broker: string): string | undefined => {
  if (file === undefined) return undefined
  const path = resolve(file)
  if (!/^(mqtts|wss):/.test(broker)) throw bad('--ca needs an mqtts:// or wss:// broker')
  if (!existsSync(path) || !statSync(path).isFile()) throw bad(`--ca ${path} is not a file`)
  const pem = readFileSync(path, 'utf8')
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
  if (blocks.length === 0 || /PRIVATE KEY-----/.test(pem)) throw bad(`--ca ${path} must hold PEM certificates and no private key`)
  for (const block of blocks) {
    let cert: X509Certificate
    try { cert = new X509Certificate(block) } catch (err) { throw bad(`--ca ${path}: not a certificate (${(err as Error).message})`) }
    if (new Date(cert.validTo).getTime() < Date.now()) throw bad(`--ca ${path}: ${cert.subject.replace(/\n/g, ', ')} expired on ${cert.validTo}`)
  }
  return blocks.join('\n') + '\n'
}
