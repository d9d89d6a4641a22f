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

t.test('a board runs an (invocation, attempt) once however often the run arrives; a retry it holds or has answered is answered by that run, not run again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-dedupe-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const gw = await startGateway({ dataDir: dir, mqttPort: await freePort(), mqttHost: '127.0.0.1', httpPort: null, log: silentLogger })
  t.teardown(() => gw.close())
  const code = 'let runs = 0; export async function handler () { await new Promise((r) => setTimeout(r, 300)); return ++runs }'
  const manifest = buildManifest('count', code)
  await publishDeployment(gw.transport, new Topics(), manifest, code)
  const board = await inProcessBoard({ id: 'dd1', broker: gw.url })
  t.teardown(() => board.cleanup())
  const c = await TestClient.connect(gw.url)
  t.teardown(() => c.close())
  await c.sub('wisp/boards/dd1/done')
  const run = (attempt: number): string => JSON.stringify({ v: 1, invocation: 'idedupe1', request_id: 'r1', fn: 'count', sha256: manifest.sha256, event: {}, budget_ms: 5000, attempt })
  type Done = { invocation: string, attempt: number, reply: { ok: boolean, result?: number } }
  const dones = (): Done[] => c.received.map((r) => r.json as Done).filter((d) => d.invocation === 'idedupe1')
  for (let i = 0; i < 3; i++) await c.pub('wisp/boards/dd1/run', run(0))
  // A retry while attempt 0 still runs (300 ms): the board answers it with that run, under attempt 1.
  await c.pub('wisp/boards/dd1/run', run(1))
  await c.waitFor(() => dones().length >= 1, 15_000)
  // A retry after the answer gets that answer again, under its own attempt: the function does not run again.
  await c.pub('wisp/boards/dd1/run', run(2))
  await c.waitFor(() => dones().length >= 2, 15_000)
  // A third run, its own invocation, marks the point by which any repeat would have been answered.
  await c.pub('wisp/boards/dd1/run', JSON.stringify({ ...JSON.parse(run(0)), invocation: 'imarker' }))
  await c.waitFor((r) => r.some((x) => (x.json as { invocation: string }).invocation === 'imarker'), 15_000)
  t.same(dones().map((d) => [d.attempt, d.reply.result]), [[1, 1], [2, 1]], 'one run answers attempts 0 and 1 (as attempt 1), then attempt 2 (its kept answer)')
})
