import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { createServer as createTlsServer } from 'node:tls'
import { Aedes } from 'aedes'
import { WispError } from '../shared/errors.js'
import { urlHost } from '../shared/bind.js'
import type { Logger } from '../shared/log.js'
import type { AedesOptions } from 'aedes'
import { deferUnmatched } from './broker-mq-guard.js'
import { exactDedupe } from './broker-dedupe.js'
import { batchWrites } from '../transport/batch-writes.js'
import type { BrokerSessions } from './broker-sessions.js'
import type { ClusterBackends } from './redis-backends.js'

/** How long a client's socket may refuse data before the broker drops it. */
export const DRAIN_TIMEOUT_MS = 2000

export interface EmbeddedBroker {
  readonly aedes: Aedes
  readonly port: number
  /** Where the listener is bound (server.address()). */
  readonly address: AddressInfo
  readonly url: string
  /** The mqtts:// listener, when a certificate was given. */
  readonly tls: { readonly port: number, readonly url: string } | null
  close: () => Promise<void>
}

/** An mqtts listener: PEM certificate (chain) and private key; port 8883 (IANA) and the broker's interface by default. */
export interface BrokerTls { readonly cert: string, readonly key: string, readonly port?: number, readonly host?: string }

const listen = async (server: Server, port: number, host: string, what: string, flag: string, onError: () => void): Promise<AddressInfo> => {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      onError()
      if (err.code === 'EADDRINUSE') {
        reject(new WispError('WISP_BAD_CONFIG', `${what} port ${port} is already in use (another broker?); choose another with ${flag}`))
      } else reject(new WispError('WISP_BAD_CONFIG', `cannot listen for ${what} on ${host}:${port}: ${err.message}`))
    })
    server.listen(port, host, resolve)
  })
  return server.address() as AddressInfo
}

/** Starts aedes (MQTT 3.1.1) on a TCP port, on 127.0.0.1 unless told otherwise. A port in use names the flag that changes it. */
export const startBroker = async (opts: { port: number, host?: string, log: Logger, portFlag?: string, tls?: BrokerTls, auth?: Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'>, sessions?: BrokerSessions, cluster?: ClusterBackends }): Promise<EmbeddedBroker> => {
  // A client that stops reading its socket holds aedes's deliveries (and so every other client's)
  // until its socket drains: after DRAIN_TIMEOUT_MS it is disconnected instead (default 60 s).
  // Clustered (redis-backends.ts), the message bus and the persistence are shared through Redis.
  const shared = opts.cluster === undefined ? {} : { id: opts.cluster.id, mq: opts.cluster.mq, persistence: opts.cluster.persistence } as Partial<AedesOptions>
  // Each client's duplicate check made exact (broker-dedupe.ts): aedes's own loses a QoS 1 message a QoS 0 one overtook.
  const aedes = await Aedes.createBroker({ id: 'wisp-gateway', heartbeatInterval: 60_000, drainTimeout: DRAIN_TIMEOUT_MS, preConnect: exactDedupe(), ...opts.auth, ...(opts.sessions === undefined ? {} : { persistence: opts.sessions.persistence }), ...shared })
  // A queue of messages nobody subscribes to must not drain as one recursion (broker-mq-guard.ts).
  deferUnmatched((aedes as unknown as { mq: unknown }).mq)
  const restored = await opts.sessions?.restore() ?? 0
  if (restored > 0) opts.log.info('persistent MQTT sessions restored', { sessions: restored })
  aedes.on('clientError', (client, err) => opts.log.debug('mqtt client error', { client: client.id, err: err.message }))
  // Small MQTT packets must not wait for Nagle's algorithm and delayed ACKs (~40 ms each way).
  // The packets of one event-loop turn to one client leave in one write (transport/batch-writes.ts).
  const handle = (socket: Socket): void => { socket.setNoDelay(true); batchWrites(socket); aedes.handle(socket) }
  const server: Server = createServer(handle)
  const host = opts.host ?? '127.0.0.1'
  const address = await listen(server, opts.port, host, 'MQTT', opts.portFlag ?? '--mqtt-port', () => aedes.close())
  const port = address.port
  let tls: { server: Server, port: number, url: string } | null = null
  if (opts.tls !== undefined) {
    let secure: Server
    try {
      secure = createTlsServer({ cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2' }, handle)
    } catch (err) {
      aedes.close(); server.close()
      throw new WispError('WISP_BAD_CONFIG', `the TLS certificate or key is not usable: ${(err as Error).message}`)
    }
    // A failed handshake (a plain-MQTT client, an untrusted certificate) is the client's problem, not the broker's.
    secure.on('tlsClientError', (err) => opts.log.debug('mqtts handshake failed', { err: err.message }))
    const tlsHost = opts.tls.host ?? host
    const a = await listen(secure, opts.tls.port ?? 8883, tlsHost, 'MQTT over TLS', 'tls.port', () => { aedes.close(); server.close() })
    tls = { server: secure, port: a.port, url: `mqtts://${urlHost(tlsHost)}:${a.port}` }
  }
  return {
    aedes,
    port,
    address,
    url: `mqtt://${urlHost(host)}:${port}`,
    tls: tls === null ? null : { port: tls.port, url: tls.url },
    close: async () => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()))
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await opts.cluster?.destroy()
      if (tls !== null) { const s = tls.server; await new Promise<void>((resolve) => s.close(() => resolve())) }
    }
  }
}
