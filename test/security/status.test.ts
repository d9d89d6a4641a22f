import t from 'tap'
import { request, type IncomingMessage } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startStatusServer, MAX_SSE_CLIENTS } from '../../runtime/status/server.js'
import type { ClusterSnapshot } from '../../runtime/status/types.js'
import { startGateway } from '../../runtime/gateway/main.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { newIncarnation } from '../../runtime/protocol/incarnation.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { MutableSource, boardState, clusterSnapshot } from '../status/fixtures.js'
import { TestClient } from '../helpers/mqtt.js'
import { freePort } from '../helpers/ports.js'

interface Res { status: number, headers: IncomingMessage['headers'], body: string, res: IncomingMessage }

/** One request with a chosen Host header; for /events the response is handed back open. */
const call = (url: string, host?: string, open = false): Promise<Res> => new Promise((resolve, reject) => {
  const req = request(url, { headers: host === undefined ? {} : { host }, timeout: 5000 }, (res) => {
    let body = ''
    res.setEncoding('utf8')
    if (open && res.statusCode === 200) { resolve({ status: 200, headers: res.headers, body, res }); return }
    res.on('data', (c: string) => { body += c })
    res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body, res }) })
  })
  req.on('timeout', () => { req.destroy(new Error(`timeout: ${url}`)) })
  req.on('error', reject)
  req.end()
})

t.test('the page answers only to its own names (DNS rebinding)', async (t) => {
  const srv = await startStatusServer({ kind: 'cluster', port: 0, source: new MutableSource<ClusterSnapshot>(clusterSnapshot()), allowedHosts: ['wisp-gw.lan'] })
  t.teardown(srv.close)
  const api = `${srv.url}api/cluster`
  for (const host of [`127.0.0.1:${srv.port}`, `localhost:${srv.port}`, 'localhost', `[::1]:${srv.port}`, `192.168.1.20:${srv.port}`, 'wisp-gw.lan:8080', 'WISP-GW.LAN']) {
    t.equal((await call(api, host)).status, 200, `Host: ${host}`)
  }
  for (const host of ['evil.example', `evil.example:${srv.port}`, 'localhost.evil.example', 'wisp-gw.lan.evil.example']) {
    const r = await call(api, host)
    t.equal(r.status, 421, `Host: ${host} is refused`)
    t.notMatch(r.body, /boards/, 'with no cluster data')
  }
  t.equal((await call(`${srv.url}events`, 'evil.example')).status, 421, 'live events too')
})

t.test(`live-event connections are capped (${MAX_SSE_CLIENTS} by default); beyond, 503 with Retry-After`, async (t) => {
  const srv = await startStatusServer({ kind: 'cluster', port: 0, source: new MutableSource<ClusterSnapshot>(clusterSnapshot()), maxSseClients: 3 })
  t.teardown(srv.close)
  const open: IncomingMessage[] = []
  t.teardown(() => { for (const r of open) r.destroy() })
  for (let i = 0; i < 3; i++) {
    const r = await call(`${srv.url}events`, undefined, true)
    t.equal(r.status, 200, `stream ${i + 1} is served`)
    open.push(r.res)
  }
  const over = await call(`${srv.url}events`)
  t.equal(over.status, 503, 'the 4th is refused')
  t.equal(over.headers['retry-after'], '10')
  t.equal((await call(`${srv.url}api/cluster`)).status, 200, 'the rest of the page still works')
  open.shift()?.destroy()
  let again = 0
  for (let i = 0; i < 100 && again !== 200; i++) {
    const r = await call(`${srv.url}events`, undefined, true)
    again = r.status
    if (again === 200) open.push(r.res); else await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.equal(again, 200, 'a closed stream frees its place')
})

t.test('/metrics has series only for deployed functions, whatever names clients invoke', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-metrics-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const gw = await startGateway({ dataDir: dir, mqttPort: await freePort(), httpPort: 0, log: silentLogger, leader: { waitMs: 50 } })
  t.teardown(gw.close)
  const code = 'export async function handler () { return 1 }'
  await publishDeployment(gw.transport, new Topics(), buildManifest('hello', code), code)
  const c = await TestClient.connect(gw.url, { clientId: 'me-1' })
  t.teardown(() => c.close())
  await c.sub('wisp/result/me/#')
  const n = 25
  for (let i = 0; i < n; i++) await c.pub(`wisp/invoke/made-up-${i}/me/r${i}`, '{}')
  await c.pub('wisp/invoke/hello/me/control', '{}')
  await c.waitFor((r) => r.length >= n + 1, 20_000)
  t.equal(c.received.filter((m) => (m.json as { error?: { code?: string } }).error?.code === 'WISP_UNKNOWN_FUNCTION').length, n, 'each made-up name got WISP_UNKNOWN_FUNCTION')
  const text = (await call(`${gw.statusUrl ?? ''}metrics`)).body
  t.notMatch(text, /made-up-/, 'no series per made-up name')
  t.match(text, new RegExp(`wisp_invocations_total\\{function="\\(not deployed\\)",outcome="WISP_UNKNOWN_FUNCTION"\\} ${n}`), 'they share one series')
  t.match(text, /wisp_invocations_total\{function="hello",outcome="WISP_NO_BOARD"\} 1/, 'a deployed function has its own (the positive control)')

  // A board's energy and the leader's decisions have samples once there are any (sampled each second).
  await c.pub(new Topics().board('b1', 'state'), JSON.stringify(boardState('b1', { incarnation: newIncarnation(), ts: Date.now(), energy_j: 84.2 })))
  let m = ''
  for (let i = 0; i < 100 && !(/wisp_board_energy_joules\{board="b1"\} 84\.2/.test(m) && /wisp_decisions_total\{kind="balance"/.test(m)); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    m = (await call(`${gw.statusUrl ?? ''}metrics`)).body
  }
  t.match(m, /wisp_board_energy_joules\{board="b1"\} 84\.2/, 'a board\'s energy has a sample')
  t.match(m, /wisp_decisions_total\{kind="balance",policy="[^"]+"\} [1-9]/, 'the leader\'s decisions are counted')
})
