import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startClusteredGateway, type ClusteredGateway } from '../../runtime/gateway/clustered.js'
import { silentLogger } from '../../runtime/shared/log.js'

export interface Teardown { teardown: (fn: () => unknown) => void }

/** A clustered gateway on `redis` (1.5 s lease, no pages) in its own temp data folder, closed at teardown. */
export const clusteredGateway = async (t: Teardown, redis: string, keyFile?: string): Promise<ClusteredGateway> => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-cgw-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const g = await startClusteredGateway({ dataDir: dir, mqttPort: 0, httpPort: null, log: silentLogger, cluster: { redis, leaseMs: 1500, ...(keyFile === undefined ? {} : { secretsKeyFile: keyFile }) } })
  t.teardown(g.close)
  return g
}
