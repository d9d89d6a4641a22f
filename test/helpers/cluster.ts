import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCluster, type ClusterOptions, type EmbeddedCluster } from '../../runtime/cluster/embedded-cluster.js'
import type { LeaderOptions } from '../../runtime/leader/leader.js'
import { createLogger } from '../../runtime/shared/log.js'
import { freePort } from './ports.js'

export interface TestCluster { cluster: EmbeddedCluster, url: string, port: number, dataDir: string, close: () => Promise<void> }

/** A real embedded cluster on free ports: aedes + leader here, boards as child processes. */
export const testCluster = async (o: { boards: number, leader?: Partial<LeaderOptions>, functionsDir?: string } & Pick<ClusterOptions, 'policy' | 'powerPolicy' | 'bootScale'>): Promise<TestCluster> => {
  process.env.WISP_LOG ??= 'warn'
  const dataDir = mkdtempSync(join(tmpdir(), 'wisp-test-'))
  const mqttPort = await freePort()
  const httpPort = await freePort()
  const cluster = await startCluster({
    boards: o.boards, mqttPort, httpPort, dataDir, functionsDir: o.functionsDir,
    leader: o.leader, policy: o.policy, powerPolicy: o.powerPolicy, bootScale: o.bootScale, readyTimeoutMs: 30_000, log: createLogger('test', process.env.WISP_LOG as 'debug' | undefined ?? 'warn')
  })
  return {
    cluster,
    url: `mqtt://127.0.0.1:${mqttPort}`,
    port: mqttPort,
    dataDir,
    close: async () => { await cluster.close(); rmSync(dataDir, { recursive: true, force: true }) }
  }
}
