import t from 'tap'
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { startStatusServer } from '../../runtime/status/server.js'
import type { BoardSnapshot, ClusterSnapshot } from '../../runtime/status/types.js'
import { chromiumMissing, collectErrors, launch } from './browser-helpers.js'
import { MutableSource, T0, boardSnapshot, boardState, clusterSnapshot, invocation } from './fixtures.js'

const ARTIFACTS = fileURLToPath(new URL('../artifacts/tmp/', import.meta.url))
const PHONE = { width: 390, height: 844 }
const DESKTOP = { width: 1280, height: 900 }

t.test('status pages in a real browser', { skip: chromiumMissing }, async (t) => {
  mkdirSync(ARTIFACTS, { recursive: true })
  const browser = await launch()
  t.teardown(() => browser.close())

  const cluster = new MutableSource<ClusterSnapshot>(clusterSnapshot())
  const board = new MutableSource<BoardSnapshot>(boardSnapshot())
  const gw = await startStatusServer({ kind: 'cluster', port: 0, source: cluster, minPushMs: 50 })
  const b1 = await startStatusServer({ kind: 'board', port: 0, source: board, minPushMs: 50 })
  t.teardown(() => gw.close())
  t.teardown(() => b1.close())
  // The cluster page links each board to its own page.
  cluster.current = clusterSnapshot({ boards: clusterSnapshot().boards.map((b) => b.id === 'b1' ? { ...b, status_url: b1.url } : b.id === 'b3' ? { ...b, status_url: 'http://127.0.0.1:9/' } : b) })

  t.test('cluster page: boards, badges, decisions, live chart', async (t) => {
    const page = await browser.newPage({ viewport: DESKTOP })
    const errors = collectErrors(page)
    t.teardown(() => page.close())
    await page.goto(gw.url)
    await page.waitForSelector('#boards tr[data-board="b4"]', { timeout: 5000 })
    t.same(await page.$$eval('#boards tr[data-board]', (rows) => rows.map((r) => r.getAttribute('data-board'))), ['b1', 'b2', 'b3', 'b4'])
    t.equal(await page.getAttribute('#boards tr[data-board="b1"] a', 'href'), b1.url, 'board links to its status page')
    t.equal(await page.$$eval('#boards tr[data-board="b3"] a', (a) => a.length), 0, 'a gated board has no (dead) link')
    t.same(await page.$$eval('#boards .badge.on, #boards .badge.draining, #boards .badge.gated, #boards .badge.booting', (b) => b.map((x) => x.textContent)),
      ['on', 'draining', 'gated', 'booting'])
    t.match(await page.textContent('#decisions'), /least-expected-completion/)
    t.equal(await page.textContent('#decisions .score.chosen'), 'b1 0.420')
    t.equal(await page.textContent('#power'), '4.72 W')
    await page.waitForSelector('#conn.live', { timeout: 5000 })
    await page.waitForSelector('#power-chart[data-points="60"]', { timeout: 5000 })
    t.ok(await page.$('#power-chart canvas'), 'uPlot drew a canvas')

    // A change at the leader reaches the page over SSE: no reload.
    const before = clusterSnapshot()
    const point = { t_ms: T0 + 1000, total_w: 6.5, boards: { b1: 3.1, b2: 2.7, b3: 0, b4: 0.7 } }
    cluster.set({ ...cluster.current, total_power_w: 6.5, generated_ms: T0 + 1000, power_history: [...before.power_history, point] })
    await page.waitForSelector('#power-chart[data-points="61"]', { timeout: 5000 })
    t.equal(await page.textContent('#power'), '6.50 W', 'the figure updated live')
    t.equal(await page.getAttribute('#power-chart', 'data-last'), String((T0 + 1000) / 1000))

    // A fifth board joins: the table and the chart's series follow.
    cluster.set({ ...cluster.current, boards: [...cluster.current.boards, { id: 'b5', profile: 'raspberry-pi-4b', power: 'offline', power_w: 0, queue_len: 0 }] })
    await page.waitForSelector('#boards tr[data-board="b5"] .badge.offline', { timeout: 5000 })
    t.ok(await page.$('.u-legend >> text=b5'), 'chart legend has the new board')
    cluster.set({ ...cluster.current, boards: cluster.current.boards.filter((b) => b.id !== 'b5') })
    await page.waitForSelector('#boards tr[data-board="b5"]', { state: 'detached', timeout: 5000 })

    // b1's power sensor keeps failing: the page shows its power unknown, not a stale figure.
    const known = cluster.current
    cluster.set({ ...known, boards: known.boards.map((b) => b.id === 'b1' ? { ...b, power_w: null, power_unknown: true } : b) })
    await page.waitForSelector('#boards tr[data-board="b1"] td:nth-child(3):has-text("unknown")', { timeout: 5000 })
    cluster.set(known)
    await page.waitForSelector('#boards tr[data-board="b1"] td:nth-child(3):has-text("1.42 W")', { timeout: 5000 })

    await page.screenshot({ path: ARTIFACTS + 'status-cluster.png', fullPage: true })
    t.same(errors, [], 'no console errors')
  })

  t.test('board page: power, functions, invocations with receipts and logs', async (t) => {
    const page = await browser.newPage({ viewport: DESKTOP })
    const errors = collectErrors(page)
    t.teardown(() => page.close())
    await page.goto(b1.url)
    await page.waitForSelector('#invocations details', { timeout: 5000 })
    t.equal(await page.textContent('#title'), 'wisp board b1')
    t.equal(await page.textContent('#power'), '1.42 W')
    t.match(await page.textContent('#functions'), /hello.*resize/s)
    t.match(await page.textContent('#invocations'), /WISP_TIMEOUT/)
    await page.click('#invocations details[data-id="req-4"] summary')
    t.match(await page.textContent('#invocations details[data-id="req-4"] pre'), /<script>alert\(1\)<\/script> is text/, 'logs are text')
    await page.waitForSelector('#power-chart[data-points="60"]', { timeout: 5000 })

    const next = boardSnapshot()
    board.set({ ...next, power_w: 2.05, energy_j: 91.7, power_samples: [...next.power_samples, [T0 + 1000, 2.05]], invocations: [invocation(6), ...next.invocations], state: boardState('b1', { queue_len: 5 }) })
    await page.waitForSelector('#power-chart[data-points="61"]', { timeout: 5000 })
    t.equal(await page.textContent('#power'), '2.05 W')
    t.equal(await page.textContent('#queue'), '5')
    const measured = board.current
    board.set({ ...measured, power_unknown: true })
    await page.waitForSelector('#power:has-text("unknown")', { timeout: 5000 })
    t.equal(await page.textContent('#power'), 'unknown (sensor failing)', 'a failing sensor\'s stale reading is not shown')
    board.set(measured)
    await page.waitForSelector('#power:has-text("2.05 W")', { timeout: 5000 })
    t.ok(await page.$('#invocations details[data-id="req-4"][open]'), 'an open log stays open across updates')
    await page.screenshot({ path: ARTIFACTS + 'status-board.png', fullPage: true })
    t.same(errors, [], 'no console errors')
  })

  t.test('phone viewport: both pages fit 390 px wide', async (t) => {
    for (const [name, url] of [['cluster', gw.url], ['board', b1.url]] as const) {
      const page = await browser.newPage({ viewport: PHONE, deviceScaleFactor: 2, isMobile: true, hasTouch: true })
      const errors = collectErrors(page)
      await page.goto(url)
      await page.waitForSelector('#power-chart canvas', { timeout: 5000 })
      const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth')
      t.ok(overflow <= 0, `${name}: no sideways scrolling of the page (overflow ${overflow}px)`)
      const chartWidth = await page.$eval('#power-chart canvas', (c) => c.getBoundingClientRect().width)
      t.ok(chartWidth > 250 && chartWidth <= PHONE.width, `${name}: chart fits the screen (${chartWidth}px)`)
      await page.screenshot({ path: ARTIFACTS + `status-${name}-phone.png`, fullPage: true })
      t.same(errors, [], `${name}: no console errors`)
      await page.close()
    }
  })
})
