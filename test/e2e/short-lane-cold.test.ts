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

const HOG_MS = 1500
/** A light handler whose module takes ~400 ms to load: its cold start is long, its runs are not. */
const SLOW_LOADING_LIGHT = 'const t0 = Date.now(); while (Date.now() - t0 < 400); export async function handler (e) { return e.i }'
const HOG = `export async function handler (e) { await new Promise((r) => setTimeout(r, ${HOG_MS})); return e.i }`

t.test('a light function whose first run was cold (a slow module load) is still short to the board: beside long runs holding every slot it takes the short lane', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-gw-'))
  const gw = await startGateway({ dataDir: dir, mqttPort: await freePort(), mqttHost: '127.0.0.1', httpPort: null, log: silentLogger, leader: { waitMs: 10_000 } })
  t.teardown(async () => { await gw.close(); rmSync(dir, { recursive: true, force: true }) })
  const board = await inProcessBoard({ id: 'sc1', broker: gw.url, extra: { run_slots: 2 } })
  t.teardown(board.cleanup)
  await publishDeployment(gw.transport, new Topics(), buildManifest('light', SLOW_LOADING_LIGHT, { timeout_ms: 5000 }), SLOW_LOADING_LIGHT)
  await publishDeployment(gw.transport, new Topics(), buildManifest('hog', HOG, { concurrency: 4, timeout_ms: 10_000 }), HOG)
  for (let i = 0; i < 100 && !gw.leader.cluster.view().boards.some((b) => b.routable); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  const c = await TestClient.connect(gw.url)
  t.teardown(() => c.close())
  await c.sub('wisp/result/sc/#')
  const reply = (id: string): { ok: boolean, receipt: { queue_ms: number, run_ms: number, cold: boolean } } | undefined =>
    c.received.find((r) => r.topic.endsWith(`/${id}`))?.json as { ok: boolean, receipt: { queue_ms: number, run_ms: number, cold: boolean } } | undefined

  // The board learns each function from one run: the light one's is cold (it held its slot for the module load).
  await c.pub('wisp/invoke/light/sc/first', JSON.stringify({ i: -1 }))
  await c.waitFor(() => reply('first') !== undefined, 15_000)
  t.equal(reply('first')?.receipt.cold, true, 'the light function\'s first run was a cold start')
  await c.pub('wisp/invoke/hog/sc/learn', JSON.stringify({ i: -2 }))
  await c.waitFor(() => reply('learn') !== undefined, 15_000)

  // Long runs hold both slots, with more queued behind them.
  await Promise.all([0, 1, 2, 3].map(async (i) => await c.pub(`wisp/invoke/hog/sc/h${i}`, JSON.stringify({ i }))))
  for (let i = 0; i < 200 && (board.agent.state().work_runs ?? 0) < 4; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.equal(board.agent.state().work_runs, 4, 'four long runs are on the board: two running, two queued')
  await c.pub('wisp/invoke/light/sc/beside', JSON.stringify({ i: 1 }))
  await c.waitFor(() => reply('beside') !== undefined, 15_000)
  const r = reply('beside')
  t.equal(r?.ok, true, 'the light run succeeds')
  t.equal(r?.receipt.cold, false, 'warm')
  // Measured by its cold start (~400 ms held) it would be long to the board and wait for a long run to end (~1.5 s).
  t.ok((r?.receipt.queue_ms ?? Infinity) < HOG_MS / 3, `it waited ${r?.receipt.queue_ms} ms on the board, not for a long run to finish (${HOG_MS} ms)`)
  await c.waitFor((all) => all.length >= 7, 20_000)
})
