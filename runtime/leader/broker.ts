import { createServer, type Server } from 'node:net'
import { Aedes } from 'aedes'
import { WispError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import type { AedesOptions } from 'aedes'
import type { BrokerSessions } from './broker-sessions.js'

/** How long a client's socket may refuse data before the broker drops it. */
export const DRAIN_TIMEOUT_MS = 2000

export interface EmbeddedBroker {
  readonly aedes: Aedes
  readonly port: number
  readonly url: string
  close: () => Promise<void>
}

/** Starts aedes (MQTT 3.1.1) on a TCP port. A port in use names the flag that changes it. */
export const startBroker = async (opts: { port: number, host?: string, log: Logger, portFlag?: string, auth?: Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'>, sessions?: BrokerSessions }): Promise<EmbeddedBroker> => {
  // A client that stops reading its socket holds aedes's deliveries (and so every other client's)
  // until its socket drains: after DRAIN_TIMEOUT_MS it is disconnected instead (default 60 s).
  const aedes = await Aedes.createBroker({ id: 'wisp-gateway', heartbeatInterval: 60_000, drainTimeout: DRAIN_TIMEOUT_MS, ...opts.auth, ...(opts.sessions === undefined ? {} : { persistence: opts.sessions.persistence }) })
  const restored = await opts.sessions?.restore() ?? 0
  if (restored > 0) opts.log.info('persistent MQTT sessions restored', { sessions: restored })
  aedes.on('clientError', (client, err) => opts.log.debug('mqtt client error', { client: client.id, err: err.message }))
  // Small MQTT packets must not wait for Nagle's algorithm and delayed ACKs (~40 ms each way).
  const server: Server = createServer((socket) => { socket.setNoDelay(true); aedes.handle(socket) })
  const host = opts.host ?? '0.0.0.0'
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      aedes.close()
      if (err.code === 'EADDRINUSE') {
        reject(new WispError('WISP_BAD_CONFIG', `MQTT port ${opts.port} is already in use (another broker?); choose another with ${opts.portFlag ?? '--mqtt-port'}`))
      } else reject(new WispError('WISP_BAD_CONFIG', `cannot listen for MQTT on ${host}:${opts.port}: ${err.message}`))
    })
    server.listen(opts.port, host, resolve)
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : opts.port
  return {
    aedes,
    port,
    url: `mqtt://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()))
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
