import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SIM_PROFILES } from '../../runtime/cluster/embedded-cluster.js'
import { startGateway } from '../../runtime/gateway/main.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { startStubs } from '../helpers/board-stub.js'
import { until } from '../helpers/leader-rig.js'
import { LoadClient } from '../helpers/load.js'
import { freePort } from '../helpers/ports.js'

const BOARDS = 200
const FNS = 100
const N = 2000

t.test(`${BOARDS} stub boards on a real gateway answer every one of ${N} invocations`, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-scale-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const gw = await startGateway({ dataDir: dir, mqttPort: await freePort(), httpPort: null, log: silentLogger })
  t.teardown(gw.close)
  const names = Array.from({ length: FNS }, (_, i) => `f${i}`)
  for (const name of names) {
    const code = `export async function handler () { return ${JSON.stringify(name)} }`
    await publishDeployment(gw.transport, gw.topics, buildManifest(name, code), code)
  }
  await until(() => gw.registry.list().length === FNS, 10_000, 'the registry to hold every function')
  const stubs = await startStubs(BOARDS, { url: gw.url, profiles: SIM_PROFILES, runMs: () => 5 })
  t.teardown(async () => { await Promise.all(stubs.map(async (s) => await s.stop())) })
  await until(() => gw.leader.cluster.view().boards.filter((b) => b.routable).length === BOARDS, 20_000, `all ${BOARDS} boards to be routable`)

  const load = await LoadClient.connect(gw.url, 'scale')
  t.teardown(async () => { await load.close() })
  for (let i = 0; i < N; i++) {
    load.send(names[i % FNS] as string, { i })
    if (i % 200 === 199) await new Promise((resolve) => setImmediate(resolve))
  }
  t.ok(await load.settle(20_000), 'every invocation was answered in time')
  const s = load.stats()
  t.equal(s.answered, N, 'answered')
  t.equal(s.ok, N, `all ok (${JSON.stringify(s.codes)})`)
  t.equal(s.duplicates, 0, 'no duplicate replies')
  const ran = stubs.reduce((n, b) => n + b.answered, 0)
  t.equal(ran, N, 'each invocation ran exactly once on a stub')
  const used = new Set([...load.outcomes.values()].map((o) => o.replies[0]?.board))
  t.ok(used.size >= FNS / 2, `work spread over many boards (${used.size})`)
})
