// The service rate a real board shows under load (its status page's API and its gossip): a real
// agent in this process on aedes (127.0.0.1), its isolates in their host, runs sent on its run
// topic and kept in flight. It used to be an average of completions per gossip interval, which
// fell to 0.00/s between completions whenever a run outlasted a few intervals.
import t from 'tap'
import { startBroker } from '../../runtime/leader/broker.js'
import { newInvocationId } from '../../runtime/leader/on-invoke.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { encode, type BoardState, type RunMessage } from '../../runtime/protocol/messages.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { ManualClock } from '../../runtime/shared/clock.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { AedesTransport } from '../../runtime/transport/aedes-transport.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { ServiceRate } from '../../runtime/agent/service-rate.js'
import { inProcessBoard } from '../helpers/board.js'
import { httpRequest } from '../helpers/http.js'
import { TestClient } from '../helpers/mqtt.js'

const RUN_MS = 2000
const IN_FLIGHT = 4 // the Pi 4's run slots: all four run at once

t.test('a board under load (runs of 2 s, gossip every 50 ms) shows a service rate near its real one on its page and in its gossip, never 0.00/s once a run completed', async (tt) => {
  const broker = await startBroker({ port: 0, host: '127.0.0.1', log: silentLogger })
  tt.teardown(() => broker.close())
  const transport = new AedesTransport(broker.aedes)
  tt.teardown(() => transport.close())
  const board = await inProcessBoard({ id: 'b1', broker: broker.url, extra: { gossip_ms: 50 } })
  tt.teardown(board.cleanup)
  tt.ok(board.pageUrl !== null, 'the board serves its page')
  const w = await TestClient.connect(broker.url)
  tt.teardown(() => w.close())
  await w.sub('wisp/boards/b1/done')
  await w.sub('wisp/boards/b1/state')
  const code = `export async function handler () { await new Promise((resolve) => setTimeout(resolve, ${RUN_MS})); return 1 }\n`
  const m = buildManifest('nap', code, { timeout_ms: 10_000 })
  await publishDeployment(transport, new Topics(), m, code)
  let sent = 0
  const send = async (): Promise<void> => {
    sent++
    await w.pub('wisp/boards/b1/run', encode({ v: 1, invocation: newInvocationId(), request_id: `r${sent}`, fn: 'nap', sha256: m.sha256, event: null, budget_ms: 30_000, attempt: 0 } satisfies RunMessage))
  }
  const dones = (): number => w.on('wisp/boards/b1/done').length
  const topUp = async (): Promise<void> => { while (sent - dones() < IN_FLIGHT) await send() }
  await topUp()
  await w.waitFor(() => dones() > 0, 15_000)
  const t0 = performance.now()
  const gossipFrom = w.on('wisp/boards/b1/state').length
  const page: Array<{ board: number, fn: number }> = []
  while (performance.now() - t0 < 2.5 * RUN_MS) {
    await topUp()
    const r = await httpRequest(`${board.pageUrl ?? ''}api/board`, { method: 'GET' })
    const st = (r.json as { state: BoardState }).state
    page.push({ board: st.service_rate, fn: st.functions.nap?.service_rate ?? 0 })
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const real = 1000 * IN_FLIGHT / RUN_MS // 2 completions/s
  tt.ok(page.length > 10, `${page.length} page samples`)
  tt.same(page.filter((p) => !(p.board > 0 && p.fn > 0)), [], 'every page sample shows a rate above 0')
  tt.same(page.filter((p) => p.fn < real / 3 || p.fn > real * 3), [], `and within 3x of the real ${real}/s (${Math.min(...page.map((p) => p.fn)).toFixed(2)}-${Math.max(...page.map((p) => p.fn)).toFixed(2)})`)
  const gossiped = w.on('wisp/boards/b1/state').slice(gossipFrom).map((r) => (r.json as BoardState).service_rate)
  tt.ok(gossiped.length > 20, `${gossiped.length} gossips`)
  tt.same(gossiped.filter((x) => !(x > 0)), [], 'every gossip meanwhile carries a rate above 0')
})

t.test('the rate: 0 until a run completes; k runs of L ms that end together read about k/L; steady completions read their rate; it decays over at least RATE_TAU_MS', async (tt) => {
  const clock = new ManualClock(1000)
  const r = new ServiceRate()
  tt.equal(r.rate(clock.now()), 0, 'nothing ran')
  for (let i = 0; i < 4; i++) r.started(clock.now())
  tt.equal(r.rate(clock.now()), 0, 'running, none completed: not measured yet')
  clock.advance(2000)
  for (let i = 0; i < 4; i++) r.completed(clock.now(), 2000)
  tt.ok(Math.abs(r.rate(clock.now()) - 2) < 0.25, `4 runs of 2 s: about 2/s (${r.rate(clock.now()).toFixed(3)})`)
  for (let k = 0; k < 100; k++) { clock.advance(250); r.completed(clock.now(), 2000) }
  tt.ok(Math.abs(r.rate(clock.now()) - 4) < 0.3, `then one every 250 ms: 4/s (${r.rate(clock.now()).toFixed(3)})`)
  clock.advance(5000)
  tt.ok(r.rate(clock.now()) > 1, `5 s without a completion: still above 1/s (${r.rate(clock.now()).toFixed(3)})`)
})
