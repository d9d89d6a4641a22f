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

t.test('a trigger message PUBACKed while the gateway starts is not lost: it is accepted into the persisted in-flight table before its PUBACK', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-gw-trigger-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const port = await freePort()
  const open = async (): Promise<Gateway> => await startGateway({ dataDir: dir, mqttPort: port, mqttHost: '127.0.0.1', httpPort: null, log: silentLogger, leader: { waitMs: 20_000 } })
  let gw = await open()
  const code = 'export async function handler (e) { return e.payload }'
  const m = buildManifest('thermo', code, { triggers: { on: ['sensors/+/temp'] } })
  await publishDeployment(gw.transport, new Topics(), m, code)
  await until('deployed', () => gw.registry.get('thermo')?.sha256 === m.sha256, 5000)
  await gw.close()

  // The broker listens before the registry, the leader and the trigger runner are up: a sensor
  // that connects then and publishes at QoS 1 must not be told "received" for a message nobody took.
  let up = false
  const opening = open().then((g) => { up = true; return g })
  let sensor: TestClient | undefined
  while (sensor === undefined && !up) {
    try { sensor = await TestClient.connect(`mqtt://127.0.0.1:${port}`, { connectTimeout: 1000 }) } catch { await new Promise((resolve) => setTimeout(resolve, 5)) }
  }
  const sentEarly = sensor !== undefined && !up
  const published = sensor?.pub('sensors/kitchen/temp', JSON.stringify({ c: 21.5 }))
  gw = await opening
  t.teardown(async () => { await gw.close() })
  if (sensor === undefined) {
    sensor = await TestClient.connect(gw.url)
    await sensor.pub('sensors/kitchen/temp', JSON.stringify({ c: 21.5 }))
  } else await published
  t.teardown(() => sensor?.close())
  t.comment(sentEarly ? 'published while the gateway was starting' : 'the gateway was up before the sensor got in')
  const ran: unknown[] = []
  gw.leader.onCompletion((c) => { if (c.fn === 'thermo' && c.reply.ok) ran.push(c.reply.result) })
  const board = await inProcessBoard({ id: 'gt1', broker: gw.url })
  t.teardown(() => board.cleanup())
  await until('the triggered run', () => ran.length > 0, 15_000)
  t.same(ran, [{ c: 21.5 }], 'the PUBACKed message ran once')
})
