import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway } from '../../runtime/gateway/main.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { encode } from '../../runtime/protocol/messages.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { inProcessBoard } from '../helpers/board.js'
import { ScriptedBoard, until } from '../helpers/leader-rig.js'
import { TestClient } from '../helpers/mqtt.js'

interface R { ok: boolean, error?: { code: string }, receipt?: { board?: string, total_ms?: number } }

const HELLO = 'export async function handler (e) { return "hello " + (e?.name ?? "you") }\n'
// The runaway of test/e2e/runaway.test.ts: spins after awaiting a host timer.
const SPINNER = 'export async function handler () { await new Promise((r) => setTimeout(r, 10)); for (;;) {} }\n'
const HELLO_MS = 3000
const GRACE_MS = 300
// An invocation's deadline is its arrival + the leader's wait for a board + the function's timeout.
const WAIT_MS = 1500

/** A gateway on a free port whose leader gives up on a run GRACE_MS after its deadline. */
const shortGraceGateway = async (t: Test): Promise<Awaited<ReturnType<typeof startGateway>>> => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-stuck-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const gw = await startGateway({ dataDir: dir, mqttPort: 0, httpPort: null, log: silentLogger, leader: { replyGraceMs: GRACE_MS, waitMs: WAIT_MS } })
  t.teardown(gw.close)
  return gw
}

/**
 * A live gateway (aedes, leader) with two boards: b2 a real agent, b1 a board whose slots the
 * spinner wedged past its own watchdog (what such a board looks like to the leader: it takes
 * runs, keeps gossiping that they run, and answers none; a real agent's watchdog would have
 * stopped them). Once a run sent to b1 is overdue (deadline and grace passed, no answer), the
 * leader routes nothing there until b1 shows progress, so a burst of `hello` is answered by b2
 * within its deadline. Without that rule, the leader releases its count of b1's runs at
 * WISP_TIMEOUT and b1 scores as free again.
 */
t.test('a board whose slots stay busy past the deadlines gets no new work until it shows progress', async (t) => {
  const gw = await shortGraceGateway(t)
  const T = new Topics()
  await publishDeployment(gw.transport, T, buildManifest('hello', HELLO, { timeout_ms: HELLO_MS }), HELLO)
  await publishDeployment(gw.transport, T, buildManifest('spinner', SPINNER, { timeout_ms: 1000 }), SPINNER)

  const b1 = await ScriptedBoard.start(gw.url, 'b1', 200)
  t.teardown(() => b1.close())
  b1.mute = true
  b1.stateOver = () => ({ queue_len: b1.runs.length, functions: { spinner: { queue_len: 0, service_rate: 0, running: b1.runs.length, runtimes: 1 } } })
  await until(() => gw.leader.cluster.routable('b1') && gw.registry.get('spinner') !== undefined, 10_000, 'b1 to join')
  const client = await TestClient.connect(gw.url)
  t.teardown(() => client.close())
  await client.sub('wisp/result/t/#')
  let n = 0
  const call = async (fn: string): Promise<{ r: R, ms: number }> => {
    const topic = `wisp/result/t/${fn}/r${++n}`
    const t0 = performance.now()
    await client.pub(`wisp/invoke/${fn}/t/r${n}`, '{"name":"x"}')
    await client.waitFor(() => client.on(topic).length > 0, 15_000)
    return { r: client.on(topic)[0]?.json as R, ms: performance.now() - t0 }
  }

  // The spinner wedges b1: the leader hears nothing back and gives up at the deadline plus the grace.
  const hog = await Promise.all([call('spinner'), call('spinner')])
  t.same(hog.map((h) => h.r.error?.code), ['WISP_TIMEOUT', 'WISP_TIMEOUT'], 'the runs on b1 time out at the leader')
  t.equal(b1.runs.length, 2, 'both were sent to b1')
  t.notOk(gw.leader.cluster.routable('b1'), 'b1 is out of routing')
  t.ok(gw.leader.cluster.view().boards.find((b) => b.id === 'b1')?.overdueSinceMs !== undefined, 'and the view says since when')

  const b2 = await inProcessBoard({ id: 'b2', broker: gw.url })
  t.teardown(b2.cleanup)
  await until(() => gw.leader.cluster.routable('b2'), 20_000, 'b2 to join')
  // b1 keeps gossiping its stuck runs: still fresh, still out of routing.
  const seq = b1.lastGossipAt
  await until(() => b1.lastGossipAt > seq && gw.leader.cluster.get('b1')?.lastSeen !== undefined, 5000, 'b1 to gossip again')
  t.notOk(gw.leader.cluster.routable('b1'), 'b1 gossiping busy slots stays out of routing')

  const burst = await Promise.all(Array.from({ length: 16 }, async () => await call('hello')))
  t.same(burst.filter((b) => !b.r.ok).map((b) => b.r.error?.code), [], 'every hello of a burst of 16 is answered')
  t.same([...new Set(burst.map((b) => b.r.receipt?.board))], ['b2'], 'by b2')
  const slowest = Math.max(...burst.map((b) => b.ms))
  t.ok(slowest < HELLO_MS, `within hello's deadline (slowest ${Math.round(slowest)} ms of ${HELLO_MS})`)
  t.equal(b1.runs.length, 2, 'b1 was sent nothing more')

  // Progress: b1 answers one of its runs late. It is routed to again.
  const late = b1.runs[0]!
  await b1.client.publishAsync(T.board('b1', 'done'), encode({ v: 1, invocation: late.invocation, attempt: late.attempt, reply: { ok: false, error: { code: 'WISP_TIMEOUT', message: 'stopped' } } }), { qos: 1 })
  await until(() => gw.leader.cluster.routable('b1'), 5000, 'b1 to be routable again after its late answer')
  t.pass('a late answer puts b1 back into routing')
})

t.test('a stuck board whose gossip shows its slots free again is routed to again', async (t) => {
  const gw = await shortGraceGateway(t)
  const T = new Topics()
  await publishDeployment(gw.transport, T, buildManifest('spinner', SPINNER, { timeout_ms: 500 }), SPINNER)
  const b1 = await ScriptedBoard.start(gw.url, 'b1', 100)
  t.teardown(() => b1.close())
  b1.mute = true
  let stuck = true
  b1.stateOver = () => stuck ? { queue_len: 1, functions: { spinner: { queue_len: 0, service_rate: 0, running: 1, runtimes: 1 } } } : {}
  await until(() => gw.leader.cluster.routable('b1') && gw.registry.get('spinner') !== undefined, 10_000, 'b1 to join')
  const client = await TestClient.connect(gw.url)
  t.teardown(() => client.close())
  await client.sub('wisp/result/t/#')
  await client.pub('wisp/invoke/spinner/t/s1', '{}')
  await client.waitFor(() => client.on('wisp/result/t/spinner/s1').length > 0, 10_000)
  t.match(client.on('wisp/result/t/spinner/s1')[0]?.json, { ok: false, error: { code: 'WISP_TIMEOUT' } })
  t.notOk(gw.leader.cluster.routable('b1'), 'out of routing after the overdue run')
  // The only board is out: a new invocation waits at the leader rather than going to the stuck board.
  await client.pub('wisp/invoke/spinner/t/s2', '{}')
  await until(() => gw.leader.inflightOf('spinner') === 1, 5000, 's2 to be taken')
  t.equal(b1.runs.length, 1, 's2 waits at the leader')
  stuck = false
  await until(() => b1.runs.length === 2, 5000, 's2 to be sent once b1 gossips free slots')
  t.ok(gw.leader.cluster.routable('b1') || b1.runs.length === 2, 'b1 is routed to again')
})
