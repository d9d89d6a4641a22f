import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway } from '../../runtime/gateway/main.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { freePort } from '../helpers/ports.js'
import { TestClient } from '../helpers/mqtt.js'
import { inProcessBoard } from '../helpers/board.js'

const gateway = async (t: { teardown: (f: () => Promise<void>) => void }, waitMs: number) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-gw-'))
  const gw = await startGateway({ dataDir: dir, mqttPort: await freePort(), mqttHost: '127.0.0.1', httpPort: null, log: silentLogger, leader: { waitMs } })
  t.teardown(async () => { await gw.close(); rmSync(dir, { recursive: true, force: true }) })
  return gw
}

t.test('WISP_NO_BOARD when no live board takes the invocation before its deadline', async (t) => {
  const gw = await gateway(t, 300)
  const code = 'export async function handler () { return 1 }'
  await publishDeployment(gw.transport, new Topics(), buildManifest('one', code), code)
  const c = await TestClient.connect(gw.url)
  t.teardown(() => c.close())
  await c.sub('wisp/result/nb/#')
  const started = Date.now()
  await c.pub('wisp/invoke/one/nb/r1', '{}')
  await c.waitFor((r) => r.length > 0, 10_000)
  t.match(c.received[0]?.json, { ok: false, error: { code: 'WISP_NO_BOARD', message: /within 300 ms/ } })
  t.ok(Date.now() - started >= 300, 'it waited for a board first')
})

t.test('an invocation waiting for a board is answered when one joins', async (t) => {
  const gw = await gateway(t, 20_000)
  const code = 'export async function handler () { return "late but answered" }'
  await publishDeployment(gw.transport, new Topics(), buildManifest('late', code), code)
  const c = await TestClient.connect(gw.url)
  t.teardown(() => c.close())
  await c.sub('wisp/result/w/#')
  await c.pub('wisp/invoke/late/w/r1', '{}')
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(c.received.length, 0, 'no board yet, no reply yet')
  const board = await inProcessBoard({ id: 'late1', broker: gw.url })
  t.teardown(board.cleanup)
  await c.waitFor((r) => r.length > 0, 15_000)
  t.match(c.received[0]?.json, { ok: true, result: 'late but answered' })
})

t.test('WISP_OVERLOADED past the board queue bound, and every accepted invocation answered', async (t) => {
  const gw = await gateway(t, 5000)
  const board = await inProcessBoard({ id: 'q1', broker: gw.url, extra: { queue_limit: 2 } })
  t.teardown(board.cleanup)
  const code = 'export async function handler () { await new Promise((r) => setTimeout(r, 400)); return "done" }'
  await publishDeployment(gw.transport, new Topics(), buildManifest('wait', code, { concurrency: 1 }), code)
  for (let i = 0; i < 100 && !gw.leader.cluster.view().boards.some((b) => b.routable); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  const c = await TestClient.connect(gw.url)
  t.teardown(() => c.close())
  await c.sub('wisp/result/ov/#')
  await Promise.all([1, 2, 3, 4, 5].map(async (i) => await c.pub(`wisp/invoke/wait/ov/r${i}`, '{}')))
  await c.waitFor((r) => r.length >= 5, 15_000)
  const replies = c.received.map((r) => r.json as { ok: boolean, error?: { code: string } })
  t.equal(replies.length, 5, 'every invocation got exactly one reply')
  t.ok(replies.filter((r) => r.ok).length >= 2, 'the admitted ones ran')
  t.ok(replies.some((r) => r.error?.code === 'WISP_OVERLOADED'), 'the rest were refused at once')
})
