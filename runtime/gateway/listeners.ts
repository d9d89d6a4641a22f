import type { BrokerUser } from '../leader/broker-auth.js'
import type { BrokerTls } from '../leader/broker.js'
import { requireLoopbackInOpenMode } from '../shared/bind.js'
import { WispError } from '../shared/errors.js'
import { isPasswordHash } from '../shared/password.js'

/** What a gateway listens on and who may connect: the part of its options the checks below read. */
export interface ListenerOptions {
  readonly users?: Readonly<Record<string, BrokerUser>>
  readonly brokerUrl?: string
  readonly mqttHost?: string
  readonly tls?: BrokerTls
  readonly httpPort?: number | null
  readonly httpHost?: string
  readonly invokePort?: number | null
  readonly invokeHost?: string
}

/**
 * Before any port is bound, for a single gateway and for each gateway of a cluster alike:
 * accounts must carry salted scrypt hashes, and without accounts (open mode) the embedded
 * broker and its TLS listener listen on loopback only; the cluster page and HTTP invokes (which
 * authenticate with the same accounts) need them off loopback with any broker, external too. Throws WISP_BAD_CONFIG.
 */
export const checkListeners = (o: ListenerOptions): void => {
  for (const [name, u] of Object.entries(o.users ?? {})) {
    if (!isPasswordHash(u.password_hash)) throw new WispError('WISP_BAD_CONFIG', `user ${name}: password_hash is not a salted scrypt hash; make one with \`wisp users add ${name} --role ${u.role}\``)
  }
  const hasUsers = o.users !== undefined && Object.keys(o.users).length > 0
  const mqttHost = o.mqttHost ?? '127.0.0.1'
  if (o.brokerUrl === undefined && !hasUsers) {
    requireLoopbackInOpenMode('MQTT', mqttHost, 'mqtt_host')
    if (o.tls !== undefined) requireLoopbackInOpenMode('MQTT over TLS', o.tls.host ?? mqttHost, 'tls.host')
  }
  // The page is the gateway's own listener whichever broker it uses: an external broker's
  // accounts say nothing about who reaches it.
  if (!hasUsers && o.httpPort !== null && o.httpPort !== undefined) requireLoopbackInOpenMode('the cluster page', o.httpHost ?? '127.0.0.1', 'http_host')
  if (!hasUsers && o.invokePort !== null && o.invokePort !== undefined) requireLoopbackInOpenMode('HTTP invokes', o.invokeHost ?? '127.0.0.1', 'invoke_host')
}
