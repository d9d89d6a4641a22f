// A real board agent in this process on aedes (127.0.0.1): whether it runs a low-priority isolate
// host (profile and board config), and that a function it measured as long runs there.
import t from 'tap'
import { getPriority } from 'node:os'
import { getProfile, loadProfiles, parseProfile, validateConfig } from '../../boards/index.js'
import { lowPriorityHost } from '../../boards/extra-hosts.js'
import { BoardConfigSchema } from '../../boards/schema.js'
import { niceOf } from '../../runtime/agent/host-priority.js'
import { processTicks } from '../../runtime/agent/linux-process-cpu.js'
import { LOW_PRIORITY_NICE, MOVE_AFTER } from '../../runtime/agent/priority-hosts.js'
import { startBroker } from '../../runtime/leader/broker.js'
import { newInvocationId } from '../../runtime/leader/on-invoke.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { encode, type RunMessage } from '../../runtime/protocol/messages.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { AedesTransport } from '../../runtime/transport/aedes-transport.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { inProcessBoard } from '../helpers/board.js'
import { TestClient } from '../helpers/mqtt.js'
import { until } from './fixtures/cpu.js'
import { childrenOf, cmdline } from '../helpers/proc.js'

const LOW_NICE = Math.min(19, getPriority() + LOW_PRIORITY_NICE)

/** The isolate host processes this process started (live and standby). */
const hostPids = (): number[] => childrenOf(process.pid).filter((pid) => cmdline(pid).includes('executor-host'))

t.test('the setting: profile, then board config, else on from 1 GB of memory', async (tt) => {
  const profiles = loadProfiles()
  tt.same([...profiles.values()].filter((p) => lowPriorityHost(p)).map((p) => p.name), [], 'opt-in: no profile runs it by default')
  tt.notOk(lowPriorityHost(getProfile('raspberry-pi-zero-2w')), 'not on a 512 MB board')
  tt.notOk(lowPriorityHost(getProfile('orange-pi-zero3')), 'nor on a 1 GB board')
  tt.notOk(lowPriorityHost({ memory_mb: 4096, low_priority_host: false }), 'a profile turns it off')
  tt.ok(lowPriorityHost({ memory_mb: 512, low_priority_host: true }), 'or on')
  tt.notOk(lowPriorityHost(getProfile('raspberry-pi-4b'), { low_priority_host: false }), 'the board config turns it off')
  tt.ok(lowPriorityHost(getProfile('raspberry-pi-zero-2w'), { low_priority_host: true }), 'or on')
  const base = { ...getProfile('raspberry-pi-4b') }
  tt.throws(() => parseProfile({ ...base, low_priority_host: 'yes' }), { code: 'WISP_BAD_CONFIG' }, 'a profile with a bad value is refused')
  tt.throws(() => validateConfig(BoardConfigSchema, { id: 'b1', profile: 'raspberry-pi-4b', broker: 'mqtt://127.0.0.1:1883', low_priority_host: 1 }, 'board config'), { code: 'WISP_BAD_CONFIG' })
})

const setup = async (tt: { teardown: (fn: () => unknown) => void }, extra: Record<string, unknown>): Promise<{ watcher: TestClient, transport: AedesTransport }> => {
  const broker = await startBroker({ port: 0, host: '127.0.0.1', log: silentLogger })
  tt.teardown(() => broker.close())
  const transport = new AedesTransport(broker.aedes)
  tt.teardown(() => transport.close())
  const board = await inProcessBoard({ id: 'b1', broker: broker.url, profile: 'raspberry-pi-4b', extra })
  tt.teardown(board.cleanup)
  const watcher = await TestClient.connect(broker.url)
  tt.teardown(() => watcher.close())
  await watcher.sub('wisp/boards/b1/done')
  return { watcher, transport }
}

t.test('with low_priority_host off in the board config, the board has one isolate host (and its standby) at the agent\'s priority', async (tt) => {
  await setup(tt, { low_priority_host: false })
  tt.ok(await until(() => hostPids().length === 2, 10_000), `the live host and its standby (${hostPids().length})`)
  tt.same(hostPids().map((pid) => niceOf(pid)), [getPriority(), getPriority()], 'none niced')
})

t.test('with it on, a function the agent measured as long runs in the niced host', async (tt) => {
  const { watcher, transport } = await setup(tt, { low_priority_host: true })
  tt.ok(await until(() => hostPids().length === 3, 10_000), `the normal host, its standby and the low-priority host (${hostPids().length})`)
  const low = hostPids().filter((pid) => niceOf(pid) === LOW_NICE)
  tt.equal(low.length, 1, `one of them at nice ${LOW_NICE}`)
  const lowPid = low[0] as number
  const code = 'export async function handler () { const t = Date.now(); let x = 0; while (Date.now() - t < 300) x++; return x }\n'
  const m = buildManifest('crunch', code, { timeout_ms: 5000 })
  await publishDeployment(transport, new Topics(), m, code)
  let answered = 0
  const runOnce = async (): Promise<void> => {
    await watcher.pub('wisp/boards/b1/run', encode({
      v: 1, invocation: newInvocationId(), request_id: 'r', fn: 'crunch', sha256: m.sha256, event: null, budget_ms: 10_000, attempt: 0
    } satisfies RunMessage))
    answered++
    await watcher.waitFor((r) => r.length >= answered, 15_000)
  }
  await runOnce() // unmeasured: the normal host; from now on the board knows it as long
  for (let i = 1; i < MOVE_AFTER; i++) await runOnce() // it moves once measured long MOVE_AFTER times in a row
  const before = processTicks(lowPid) ?? 0
  for (let i = 0; i < 3; i++) await runOnce()
  const used = (processTicks(lowPid) ?? 0) - before
  tt.ok(used >= 5, `the low-priority host burnt the CPU of the runs (${used * 10} ms of 900 ms busy, nice ${LOW_NICE} on a loaded machine)`)
  tt.ok(watcher.on('wisp/boards/b1/done').every((r) => (r.json as { reply: { ok: boolean } }).reply.ok), 'every run succeeded')
})
