import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { invokeOnce } from '../../runtime/cli/commands/invoke.js'
import { freePort } from '../helpers/ports.js'
import { waitForOutput, wispArgs } from '../helpers/wisp-cli.js'
import { chromiumMissing, collectErrors, launch } from './browser-helpers.js'

const ARTIFACTS = fileURLToPath(new URL('../artifacts/tmp/', import.meta.url))


t.test('the cluster page of a real `wisp start`', { skip: chromiumMissing }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-start-page-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const mqttPort = await freePort()
  // Board N serves on http-port + N, so leave room above the gateway's port.
  const httpPort = 30000 + (mqttPort % 20000)
  const p = spawn(process.execPath, wispArgs(['start', '--boards', '2', '--mqtt-port', String(mqttPort), '--http-port', String(httpPort), '--invoke-port', '0', '--data-dir', join(dir, '.wisp')]),
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WISP_LOG: 'warn' } })
  t.teardown(async () => {
    if (p.exitCode !== null) return
    const gone = new Promise((resolve) => p.once('exit', resolve))
    p.kill('SIGTERM')
    const hard = setTimeout(() => p.kill('SIGKILL'), 8000)
    await gone
    clearTimeout(hard)
  })
  await waitForOutput(p, /Ctrl-C stops/, 60_000)
  const url = `http://127.0.0.1:${httpPort}/`
  const api = await fetch(url + 'api/cluster').then((r) => r.ok, () => false)
  t.ok(api, `the gateway of wisp start serves /api/cluster at ${url}`)

  const browser = await launch()
  t.teardown(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  const errors = collectErrors(page)
  await page.goto(url)
  await page.waitForSelector('#boards tr[data-board="b2"]', { timeout: 15_000 })
  await page.waitForSelector('#conn.live', { timeout: 5000 })
  t.equal(await page.getAttribute('#boards tr[data-board="b1"] a', 'href'), `http://127.0.0.1:${httpPort + 1}/`, 'b1 links to its own page')
  await page.waitForSelector('#power-chart canvas', { timeout: 10_000 })
  const before = Number(await page.getAttribute('#power-chart', 'data-last'))

  const reply = await invokeOnce({ broker: `mqtt://127.0.0.1:${mqttPort}`, fn: 'hello', payload: '{"name":"page"}', timeoutMs: 20_000 })
  t.match(reply, { ok: true, result: { greeting: 'hello, page' } })
  await page.waitForFunction((b) => Number((globalThis as unknown as { document: { querySelector: (s: string) => { getAttribute: (a: string) => string | null } | null } }).document.querySelector('#power-chart')?.getAttribute('data-last')) > b, before, { timeout: 15_000 })
  t.pass('the power chart moved on without a reload')
  const requestId = reply.receipt?.request_id
  if (requestId !== undefined && await page.$('#invocations td.empty') === null) {
    t.match(await page.textContent('#invocations'), /hello/, 'the invocation is listed')
  }
  await page.screenshot({ path: ARTIFACTS + 'status-wisp-start.png', fullPage: true })
  t.same(errors, [], 'no console errors')
})
