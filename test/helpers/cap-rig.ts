import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway, type Gateway } from '../../runtime/gateway/main.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { buildManifest, type DeployOptions } from '../../runtime/protocol/manifest.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { freePort } from './ports.js'
import { TestClient } from './mqtt.js'
import { inProcessBoard } from './board.js'

export interface CapReply { ok: boolean, result?: unknown, error?: { code: string, message: string }, receipt?: unknown }

export const until = async (what: string, cond: () => boolean, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * A gateway (embedded aedes, data in a temporary folder it can be restarted on), one real board in
 * this process and a client that invokes and reads replies: what the capability suites share.
 */
export const capRig = async (o: { runSlots?: number } = {}): Promise<{
  gw: () => Gateway
  restart: () => Promise<void>
  deploy: (fn: string, code: string, opts?: DeployOptions) => Promise<void>
  call: (fn: string, event: unknown, timeoutMs?: number) => Promise<CapReply>
  client: TestClient
  close: () => Promise<void>
}> => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-caps-'))
  const port = await freePort()
  const open = async (): Promise<Gateway> => await startGateway({ dataDir: dir, mqttPort: port, mqttHost: '127.0.0.1', httpPort: null, log: silentLogger })
  let gw = await open()
  const board = await inProcessBoard({ id: 'cb1', broker: gw.url, extra: { run_slots: o.runSlots ?? 8 } })
  const joined = async (): Promise<void> => { await until('board joined', () => gw.leader.cluster.view().boards.some((b) => b.routable), 15_000) }
  await joined()
  const client = await TestClient.connect(gw.url, { reconnectPeriod: 200 })
  await client.sub('wisp/result/me/#')
  let n = 0
  return {
    gw: () => gw,
    restart: async () => { await gw.close(); gw = await open(); await joined() },
    deploy: async (fn, code, opts) => {
      const m = buildManifest(fn, code, opts)
      await publishDeployment(gw.transport, new Topics(), m, code)
      await until(`${fn} registered`, () => gw.registry.get(fn)?.sha256 === m.sha256, 5000)
    },
    call: async (fn, event, timeoutMs = 15_000) => {
      const id = `r${n++}x${Date.now()}`
      const topic = `wisp/result/me/${fn}/${id}`
      await client.pub(`wisp/invoke/${fn}/me/${id}`, JSON.stringify(event))
      await client.waitFor((r) => r.some((x) => x.topic === topic), timeoutMs)
      return client.on(topic)[0]?.json as CapReply
    },
    client,
    close: async () => {
      await client.close()
      await board.cleanup()
      await gw.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
