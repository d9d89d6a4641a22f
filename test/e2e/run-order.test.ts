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

const sleeper = (ms: number): string => `export async function handler (e) { await new Promise((r) => setTimeout(r, ${ms})); return e.i }`

t.test('a burst of a long function does not hold a short function behind it: the board serves the highest response ratio first', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-gw-'))
  const gw = await startGateway({ dataDir: dir, mqttPort: await freePort(), mqttHost: '127.0.0.1', httpPort: null, log: silentLogger, leader: { waitMs: 10_000 } })
  t.teardown(async () => { await gw.close(); rmSync(dir, { recursive: true, force: true }) })
  // Two cores' worth of runs at once; every run holds its core until it ends.
  const board = await inProcessBoard({ id: 'r1', broker: gw.url, extra: { run_slots: 2 } })
  t.teardown(board.cleanup)
  for (const [name, ms] of [['long', 300], ['short', 5]] as const) {
    const code = sleeper(ms)
    await publishDeployment(gw.transport, new Topics(), buildManifest(name, code, { concurrency: 4 }), code)
  }
  for (let i = 0; i < 100 && !gw.leader.cluster.view().boards.some((b) => b.routable); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  const c = await TestClient.connect(gw.url)
  t.teardown(() => c.close())
  await c.sub('wisp/result/ro/#')
  // The board learns each function's run time from one run of each.
  await c.pub('wisp/invoke/long/ro/learn-long', JSON.stringify({ i: -1 }))
  await c.pub('wisp/invoke/short/ro/learn-short', JSON.stringify({ i: -2 }))
  await c.waitFor((r) => r.length >= 2, 15_000)
  c.received.length = 0

  const LONG = 12
  await Promise.all(Array.from({ length: LONG }, async (_, i) => await c.pub(`wisp/invoke/long/ro/l${i}`, JSON.stringify({ i }))))
  await new Promise((resolve) => setTimeout(resolve, 100)) // the burst is queued on the board
  await Promise.all([0, 1, 2].map(async (i) => await c.pub(`wisp/invoke/short/ro/s${i}`, JSON.stringify({ i }))))
  await c.waitFor((r) => r.length >= LONG + 3, 20_000)
  const order = c.received.map((r) => r.topic.split('/').pop() ?? '')
  t.equal(order.length, LONG + 3, 'every invocation answered once')
  t.ok(c.received.every((r) => (r.json as { ok: boolean }).ok), 'all ok')
  const lastShort = Math.max(...['s0', 's1', 's2'].map((s) => order.indexOf(s)))
  // In arrival order the three short runs would come after all twelve long ones (FIFO); by
  // response ratio they take the first cores that come free, after at most the two long runs
  // started before them plus the two running when they arrived.
  t.ok(lastShort >= 0 && lastShort < 7, `short runs answered at positions ${['s0', 's1', 's2'].map((s) => order.indexOf(s)).join(', ')} of ${order.length}: ${order.join(' ')}`)
  const receipt = c.received.find((r) => r.topic.endsWith('/s0'))?.json as { receipt: { queue_ms: number } } | undefined
  t.ok((receipt?.receipt.queue_ms ?? Infinity) < 1500, `a short run waited ${receipt?.receipt.queue_ms} ms, not the ~1.8 s the long burst takes`)
})
