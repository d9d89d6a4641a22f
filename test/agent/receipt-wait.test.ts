// A real agent in this process (isolates in their host) on aedes (127.0.0.1): a run that waits in the
// isolate host for memory budget (held by busy runtimes of another function) reports that wait in
// its receipt's queue_ms, not as an unexplained gap between total_ms and queue_ms + run_ms.
import t from 'tap'
import { startBroker } from '../../runtime/leader/broker.js'
import { newInvocationId } from '../../runtime/leader/on-invoke.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { encode, type RunMessage } from '../../runtime/protocol/messages.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { AedesTransport } from '../../runtime/transport/aedes-transport.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { inProcessBoard } from '../helpers/board.js'
import { until } from '../helpers/leader-rig.js'
import { TestClient } from '../helpers/mqtt.js'

const HOLD_MS = 1500

type Json = Record<string, unknown>
const run = (fn: string, sha256: string, requestId: string): Buffer => encode({
  v: 1, invocation: newInvocationId(), request_id: requestId, fn, sha256, event: null, budget_ms: 20_000, attempt: 0
} satisfies RunMessage)

t.test('a run that waits for runtime memory held by busy runtimes reports the wait in queue_ms', async (t) => {
  const broker = await startBroker({ port: 0, host: '127.0.0.1', log: silentLogger })
  t.teardown(() => broker.close())
  const transport = new AedesTransport(broker.aedes)
  t.teardown(() => transport.close())
  // banana-pi-m2-zero: a 256 MB runtime budget, 4 run slots.
  const board = await inProcessBoard({ id: 'b1', broker: broker.url, profile: 'banana-pi-m2-zero' })
  t.teardown(board.cleanup)
  const watcher = await TestClient.connect(broker.url)
  t.teardown(() => watcher.close())
  await watcher.sub('wisp/boards/b1/done')

  const holdCode = `export async function handler () { await new Promise((resolve) => setTimeout(resolve, ${HOLD_MS})); return 1 }`
  const hold = buildManifest('hold', holdCode, { timeout_ms: 10_000, memory_mb: 128, concurrency: 1 })
  const lightCode = 'export async function handler () { return 2 }'
  const light = buildManifest('light', lightCode, { timeout_ms: 10_000, memory_mb: 64 })
  await publishDeployment(transport, new Topics(), hold, holdCode)
  await publishDeployment(transport, new Topics(), light, lightCode)

  // Two busy runtimes of 128 MB hold the whole budget: light's cold start must wait for one to end.
  await watcher.pub('wisp/boards/b1/run', run('hold', hold.sha256, 'h1'))
  await watcher.pub('wisp/boards/b1/run', run('hold', hold.sha256, 'h2'))
  await until(() => board.agent.state().functions.hold?.running === 2, 10_000, 'both hold runs to run')
  const sentAt = performance.now()
  await watcher.pub('wisp/boards/b1/run', run('light', light.sha256, 'l1'))
  const dones = (): Json[] => watcher.on('wisp/boards/b1/done').map((r) => r.json as Json)
  const lightDone = (): Json | undefined => dones().find((d) => ((d.reply as Json).receipt as Json).function === 'light')
  await watcher.waitFor(() => lightDone() !== undefined, 20_000)
  const waited = performance.now() - sentAt
  const reply = lightDone()?.reply as Json
  const r = reply.receipt as { queue_ms: number, run_ms: number, total_ms: number, cold: boolean }
  t.equal(reply.ok, true)
  t.equal(r.cold, true)
  t.ok(waited >= HOLD_MS / 3, `light waited for a hold run to end (${Math.round(waited)} ms)`)
  t.ok(r.queue_ms >= HOLD_MS / 3, `queue_ms counts the wait for memory (${r.queue_ms} ms of ${r.total_ms} ms)`)
  t.ok(r.total_ms - r.queue_ms - r.run_ms < r.queue_ms, `what is left unexplained (cold start) is less than the wait (${r.total_ms - r.queue_ms - r.run_ms} ms)`)
})
