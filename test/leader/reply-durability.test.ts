import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL, fileURLToPath } from 'node:url'
import { BrokerSessions } from '../../runtime/leader/broker-sessions.js'
import { InflightStore, type InflightStorage, type Recovered } from '../../runtime/leader/inflight-store.js'
import type { Invocation } from '../../runtime/leader/inflight.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { leaderRig, ScriptedBoard, until } from '../helpers/leader-rig.js'
import { TestClient } from '../helpers/mqtt.js'

const STORE_JS = pathToFileURL(fileURLToPath(new URL('../../dist/runtime/leader/inflight-store.js', import.meta.url))).href

// A gateway's store in its own process: accepts `a` and `b`, starts writing `b` again, answers `a`, and is killed (-9) at once.
const CHILD = `
const { InflightStore } = await import(${JSON.stringify(STORE_JS)})
const log = { debug () {}, info () {}, warn () {}, error () {} }
const s = await InflightStore.open(process.argv[1], log)
await s.recover(Date.now())
const inv = (id) => ({ invocation: id, requestId: 'r-' + id, dedupeKey: 'c/f/r-' + id, fn: 'f', manifest: { sha256: '0'.repeat(64) }, event: {}, eventBytes: 2,
  reply: { topic: 'wisp/result/c/f/r-' + id }, receivedAt: 1000, deadline: 9e15, attempt: 0, board: 'b1', sentTo: ['b1'], dispatchedAt: 1000, timer: null })
await s.accepted(inv('a'), 1000)
await s.accepted(inv('b'), 1000)
const b = inv('b'); b.attempt = 1
void s.accepted(b, 1001) // a batch in progress: the delete below queues behind it
s.answered('a') // the reply to a is out
process.kill(process.pid, 'SIGKILL')
`

t.test('an invocation answered just before a kill -9 is not run (and answered) again after the restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-answered-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const signal = await new Promise<NodeJS.Signals | null>((resolve, reject) => {
    const p = spawn(process.execPath, ['--no-node-snapshot', '--input-type=module', '-e', CHILD, dir], { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    p.stderr.on('data', (d: Buffer) => { err += d.toString() })
    p.once('error', reject)
    p.once('exit', (code, sig) => { if (sig === null) reject(new Error(`child exited ${code}: ${err}`)); else resolve(sig) })
  })
  t.equal(signal, 'SIGKILL')
  const s = await InflightStore.open(dir, silentLogger)
  const r = await s.recover(2000)
  t.same(r.invocations.map((x) => x.invocation), ['b'], 'a is not recovered: its reply was out; b still is')
  t.same(r.seen.map(([k]) => k).sort(), ['c/f/r-a', 'c/f/r-b'], 'both requests stay in the dedupe window')
  await s.close()
  const again = await InflightStore.open(dir, silentLogger)
  t.teardown(() => again.close())
  t.same((await again.recover(2000)).invocations.map((x) => x.invocation), ['b'], 'the same after another restart (the journal was emptied)')
})

/** A store whose writes reach the disk only when the test says so, while `hold` (a loaded gateway's LevelDB batch). */
class SlowStore implements InflightStorage {
  hold = false
  private pending: Array<() => void> = []
  readonly answeredIds: string[] = []
  async recover (): Promise<Recovered> { return { invocations: [], seen: [] } }
  async accepted (_inv: Invocation): Promise<void> { await this.durable() }
  async durable (): Promise<void> { if (this.hold) await new Promise<void>((resolve) => this.pending.push(resolve)) }
  answered (invocation: string): void { this.answeredIds.push(invocation) }
  async close (): Promise<void> {}
  writeNow (): void { this.hold = false; for (const w of this.pending.splice(0)) w() }
}

t.test('a reply is not published before its invocation is on disk (else a crash, the client resending its unacknowledged invoke, and a second reply)', async (t) => {
  const store = new SlowStore()
  const rig = await leaderRig({ store })
  t.teardown(rig.close)
  await rig.deploy('echo')
  const b1 = await ScriptedBoard.start(rig.broker.url, 'b1', 250)
  t.teardown(() => b1.close())
  await until(() => rig.leader.cluster.routable('b1'), 5000, 'b1 to join')
  const client = await TestClient.connect(rig.broker.url)
  t.teardown(() => client.close())
  await client.sub('wisp/result/c/#')
  store.hold = true
  const done = new Promise<void>((resolve) => rig.leader.onCompletion((c) => { if (c.requestId === 'r1') resolve() }))
  await client.pub('wisp/invoke/echo/c/r1', JSON.stringify({ x: 1 }))
  await done // the board answered and the leader took its done
  t.equal(b1.runs.length, 1, 'dispatched at once: only the reply waits')
  // Published after the done was taken, on the same path as a reply: once it is here, a reply sent then would be too.
  await rig.transport.publish('wisp/result/c/probe/p1', '{}', { qos: 1 })
  await client.waitFor(() => client.on('wisp/result/c/probe/p1').length === 1)
  t.equal(client.on('wisp/result/c/echo/r1').length, 0, 'no reply while its acceptance is not on disk')
  t.same(store.answeredIds, [], 'nor is it forgotten')
  store.writeNow()
  await client.waitFor(() => client.on('wisp/result/c/echo/r1').length === 1)
  t.same(client.on('wisp/result/c/echo/r1')[0]?.json, { ok: true, result: { x: 1 } })
  await until(() => store.answeredIds.length === 1, 5000, 'the store to forget it')
})

t.test('a reply to a persistent session: its invocation is forgotten before the broker writes it to the connection, not a turn after', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-sessions-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const sessions = await BrokerSessions.open(dir, silentLogger)
  t.teardown(() => sessions.close())
  const store = new SlowStore()
  const rig = await leaderRig({ store, sessions })
  t.teardown(rig.close)
  await rig.deploy('echo')
  const b1 = await ScriptedBoard.start(rig.broker.url, 'b1', 250)
  t.teardown(() => b1.close())
  await until(() => rig.leader.cluster.routable('b1'), 5000, 'b1 to join')
  const client = await TestClient.connect(rig.broker.url, { clientId: 'persistent-c', clean: false })
  t.teardown(() => client.close())
  await client.sub('wisp/result/c/#')
  // What the store had forgotten when each reply reached the client.
  const forgottenAtArrival: string[][] = []
  client.client.on('message', () => forgottenAtArrival.push([...store.answeredIds]))
  for (const req of ['r1', 'r2', 'r3']) {
    await client.pub(`wisp/invoke/echo/c/${req}`, JSON.stringify({ req }))
    await client.waitFor(() => client.on(`wisp/result/c/echo/${req}`).length === 1)
  }
  t.same(forgottenAtArrival.map((f) => f.length), [1, 2, 3], 'each reply\'s invocation was forgotten before the client had the reply')
  await until(() => store.answeredIds.length === 3, 5000, 'the store to settle')
  t.equal(new Set(store.answeredIds).size, 3, 'each forgotten once')
})

t.test('the journal stays bounded under steady answers: a full one is set aside, and dropped once its deletes are written', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-answered-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const s = await InflightStore.open(dir, silentLogger)
  await s.recover(0)
  const ids = Array.from({ length: 5000 }, (_, i) => `i-${String(i).padStart(14, '0')}`)
  const base = { requestId: 'r', dedupeKey: null, fn: 'f', manifest: { sha256: '0'.repeat(64) }, event: {}, eventBytes: 2, reply: null, receivedAt: 0, deadline: 9e15, attempt: 0, board: null, sentTo: [], dispatchedAt: 0, timer: null }
  for (const id of ids) void s.accepted({ ...base, invocation: id } as unknown as Invocation, 0)
  await s.durable()
  // Each delete queues behind the one batch in progress: there is no moment with none pending until the end.
  for (const id of ids) s.answered(id)
  let flushed = false
  let setAside = false
  void s.flush().then(() => { flushed = true })
  while (!flushed) {
    setAside ||= existsSync(join(dir, 'answered.journal.old'))
    await new Promise((resolve) => setImmediate(resolve))
  }
  t.ok(setAside, 'the full journal was set aside while deletes were pending')
  t.ok(statSync(join(dir, 'answered.journal')).size < 64 * 1024, 'the journal was begun again')
  t.notOk(existsSync(join(dir, 'answered.journal.old')), 'the set-aside one dropped once its deletes were written')
  await s.close()
  const again = await InflightStore.open(dir, silentLogger)
  t.teardown(() => again.close())
  t.same((await again.recover(0)).invocations, [], 'nothing answered comes back')
})
