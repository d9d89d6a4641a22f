import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCluster, type ClusterOptions, type EmbeddedCluster } from '../../runtime/cluster/embedded-cluster.js'
import type { LeaderOptions } from '../../runtime/leader/leader.js'
import { createLogger } from '../../runtime/shared/log.js'
import { freePort } from './ports.js'
import { mosquittoMissing, startMosquitto } from './mosquitto.js'

export interface TestCluster { cluster: EmbeddedCluster, url: string, port: number, dataDir: string, close: () => Promise<void> }

/** A real embedded cluster on free ports: aedes + leader here, boards as child processes. */
export type TestBroker = 'aedes' | 'mosquitto'
/** The brokers the end-to-end suites run on: the embedded aedes, and an external Mosquitto 2 (MQTT 5). */
export const BROKERS: readonly TestBroker[] = ['aedes', 'mosquitto']
/** Why a suite on `broker` cannot run here (the mosquitto binary is missing), or false. */
export const brokerMissing = (broker: TestBroker): string | false => broker === 'mosquitto' ? mosquittoMissing() : false

/**
 * A real cluster on free ports: the gateway (leader, and the embedded aedes unless `broker` is
 * 'mosquitto', then a fresh Mosquitto on loopback) here, boards as child processes.
 */
export const testCluster = async (o: { boards: number, leader?: Partial<LeaderOptions>, functionsDir?: string, broker?: TestBroker } & Pick<ClusterOptions, 'policy' | 'powerPolicy' | 'bootScale' | 'green'>): Promise<TestCluster> => {
  process.env.WISP_LOG ??= 'warn'
  const dataDir = mkdtempSync(join(tmpdir(), 'wisp-test-'))
  const mosq = o.broker === 'mosquitto' ? await startMosquitto() : null
  const mqttPort = mosq?.port ?? await freePort()
  const httpPort = await freePort()
  let cluster: EmbeddedCluster
  try {
    cluster = await startCluster({
      boards: o.boards, mqttPort, httpPort, dataDir, functionsDir: o.functionsDir, brokerUrl: mosq?.url,
      leader: o.leader, policy: o.policy, powerPolicy: o.powerPolicy, bootScale: o.bootScale, green: o.green, readyTimeoutMs: 30_000, log: createLogger('test', process.env.WISP_LOG as 'debug' | undefined ?? 'warn')
    })
  } catch (err) {
    await mosq?.stop()
    throw err
  }
  return {
    cluster,
    url: `mqtt://127.0.0.1:${mqttPort}`,
    port: mqttPort,
    dataDir,
    close: async () => { await cluster.close(); await mosq?.stop(); rmSync(dataDir, { recursive: true, force: true }) }
  }
}
