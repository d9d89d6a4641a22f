import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway, type Gateway } from '../../runtime/gateway/main.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { freePort } from '../helpers/ports.js'
import { TestClient } from '../helpers/mqtt.js'
import { inProcessBoard } from '../helpers/board.js'

const until = async (what: string, cond: () => boolean, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

t.test('a gateway restart with invocations in flight: each gets exactly one reply', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-gw-restart-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const port = await freePort()
  const open = async (): Promise<Gateway> => await startGateway({ dataDir: dir, mqttPort: port, mqttHost: '127.0.0.1', httpPort: null, log: silentLogger, leader: { waitMs: 20_000 } })
  let gw = await open()
  t.teardown(async () => { await gw.close() })
  const code = 'export async function handler (e) { await new Promise((r) => setTimeout(r, 400)); return e.n }'
  await publishDeployment(gw.transport, new Topics(), buildManifest('slow', code, { timeout_ms: 5000 }), code)
  const board = await inProcessBoard({ id: 'gr1', broker: gw.url })
  t.teardown(() => board.cleanup())
  await until('board joined', () => gw.leader.cluster.view().boards.length === 1, 10_000)

  // The client reconnects on its own and resubscribes (mqtt.js), as a real one would.
  const c = await TestClient.connect(gw.url, { reconnectPeriod: 200 })
  t.teardown(() => c.close())
  await c.sub('wisp/result/gr/#')
  const n = 12
  for (let i = 0; i < n; i++) await c.pub(`wisp/invoke/slow/gr/r${i}`, JSON.stringify({ n: i }))
  await until('all accepted', () => gw.leader.inflightCount() + c.received.length >= n, 10_000)
  t.ok(gw.leader.inflightCount() > 0, `${gw.leader.inflightCount()} in flight when the gateway stops`)

  await gw.close()
  gw = await open()
  await c.waitFor((r) => new Set(r.map((x) => x.topic)).size === n, 30_000)
  // Let every attempt the board had started finish, so a late duplicate would show up.
  await until('leader idle', () => gw.leader.inflightCount() === 0, 15_000)
  await until('board idle', () => Object.values(board.agent.state().functions).every((f) => f.running === 0 && f.queue_len === 0), 15_000)
  await c.pub('wisp/invoke/slow/gr/marker', JSON.stringify({ n: -1 }))
  await c.waitFor((r) => r.some((x) => x.topic.endsWith('/marker')), 10_000)

  const byTopic = new Map<string, unknown[]>()
  for (const r of c.received) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r.json])
  for (let i = 0; i < n; i++) {
    const replies = byTopic.get(`wisp/result/gr/slow/r${i}`) ?? []
    t.equal(replies.length, 1, `r${i}: exactly one reply`)
    t.match(replies[0], { ok: true, result: i }, `r${i}: its result`)
  }
})
