import type { Command } from 'commander'
import { fail } from '../errors.js'
import type { GpioPin } from '../../../node-firmware-bridge/index.js'
import { WispError } from '../../shared/errors.js'
import { readPem } from '../credentials.js'

export const registerGateway = (program: Command): void => {
  program.command('gateway')
    .description('run the gateway: the broker (embedded aedes, or an external one) and the leader')
    .requiredOption('--config <file>', 'gateway config JSON')
    .option('--broker <url>', 'use this external MQTT broker instead of the embedded one')
    .option('--ca <file>', 'CA certificate (PEM) to trust for an mqtts:// external broker')
    .option('--tls-cert <file>', 'certificate (PEM) of an mqtts listener of the embedded broker (port tls.port, default 8883)')
    .option('--tls-key <file>', 'its private key (PEM)')
    .action(async (o: { config: string, broker?: string, ca?: string, tlsCert?: string, tlsKey?: string }) => {
      try {
        const { startGateway } = await import('../../gateway/main.js')
        const { loadGatewayConfig } = await import('../../leader/gateway-config.js')
        const { greenSetup } = await import('../../leader/green/green-config.js')
        const { createLogger } = await import('../../shared/log.js')
        const { openLinuxGpioPin } = await import('../../../node-firmware-bridge/index.js')
        const c = loadGatewayConfig(o.config)
        const log = createLogger('gateway')
        const certFile = o.tlsCert ?? c.tls?.cert
        const keyFile = o.tlsKey ?? c.tls?.key
        if ((certFile === undefined) !== (keyFile === undefined)) throw new WispError('WISP_BAD_CONFIG', 'give --tls-cert and --tls-key together (or tls.cert and tls.key in the config)')
        const tls = certFile !== undefined && keyFile !== undefined ? { cert: readPem(certFile), key: readPem(keyFile), port: c.tls?.port ?? 8883, host: c.tls?.host } : undefined
        const relays = new Map<string, { pin: GpioPin, activeLow: boolean, profile: string }>()
        for (const [id, r] of Object.entries(c.relays)) {
          // Boards start powered: the relay closes at once (level 1, or 0 when active-low).
          const pin = await openLinuxGpioPin(r.line, r.active_low ? 0 : 1).catch((err: Error) => {
            throw new WispError('WISP_BAD_CONFIG', `relay of board ${id} on GPIO line ${r.line}: ${err.message}`)
          })
          relays.set(id, { pin, activeLow: r.active_low, profile: r.profile })
        }
        const opts = {
          relays, policy: c.policy, users: c.users, tls, dataDir: c.data_dir, mqttPort: c.mqtt_port, mqttHost: c.mqtt_host, httpPort: c.http_port, httpHost: c.http_host, httpAllowedHosts: c.http_allowed_hosts, invokePort: c.invoke_port, invokeHost: c.invoke_host,
          brokerUrl: o.broker ?? c.broker, brokerUsername: c.broker_username ?? process.env.WISP_USERNAME, brokerPassword: c.broker_password ?? process.env.WISP_PASSWORD,
          brokerCa: o.ca !== undefined ? readPem(o.ca) : undefined, topicPrefix: c.topic_prefix, leader: { waitMs: c.wait_ms }, green: greenSetup(c.green), log
        }
        if (c.cluster !== undefined) {
          const { startClusteredGateway } = await import('../../gateway/clustered.js')
          const cg = await startClusteredGateway({ ...opts, cluster: { redis: c.cluster.redis, leaseMs: c.cluster.lease_ms, secretsKeyFile: c.cluster.secrets_key_file } })
          log.info('clustered gateway up; the leader runs on whichever gateway holds the lease', { broker: cg.url, id: cg.id })
          const stop = (): void => { cg.close().then(() => process.exit(0), () => process.exit(1)) }
          process.on('SIGINT', stop)
          process.on('SIGTERM', stop)
          return
        }
        const g = await startGateway(opts)
        log.info('gateway up', { broker: g.url, mqtts: g.broker?.tls?.url, page: g.statusUrl, invoke: g.invokeUrl, mode: g.openMode ? 'open mode, loopback only' : 'accounts' })
        const stop = (): void => { g.close().then(() => process.exit(0), () => process.exit(1)) }
        process.on('SIGINT', stop)
        process.on('SIGTERM', stop)
      } catch (err) { fail(err) }
    })
}
