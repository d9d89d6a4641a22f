import t from 'tap'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { testCluster } from '../helpers/cluster.js'
import { LoadClient } from '../helpers/load.js'
import { until } from '../helpers/leader-rig.js'
import { runWisp as wisp } from '../helpers/wisp-cli.js'

const dir = mkdtempSync(join(tmpdir(), 'wisp-upgrade-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const echo = join(dir, 'echo.js')
writeFileSync(echo, 'export async function handler (e) { await new Promise((r) => setTimeout(r, 20)); return e }\n')
const empty = join(dir, 'none')
mkdirSync(empty)

const c = await testCluster({ boards: 3, functionsDir: empty, policy: 'wisp-no-gate' })
t.teardown(c.close)
const cluster = c.cluster.gateway.leader.cluster
const broker = ['--broker', c.url]
const ids = ['b1', 'b2', 'b3']
const version = (id: string): string | undefined => cluster.get(id)?.state?.version
t.equal((await wisp(['deploy', 'echo', echo, ...broker])).code, 0)
const from = version('b1')
t.ok(from !== undefined, 'boards gossip a version')
t.same(cluster.get('b1')?.state?.proto, [1], 'boards announce the protocol versions they speak')

/** Light steady load: an invocation every 100 ms while `body` runs; every one must be answered ok. */
const underLoad = async <T>(tag: string, body: () => Promise<T>): Promise<{ result: T, load: LoadClient }> => {
  const load = await LoadClient.connect(c.url, tag)
  t.teardown(() => load.close())
  let on = true
  const pump = (async () => { let i = 0; while (on) { load.send('echo', { i: i++ }); await new Promise((resolve) => setTimeout(resolve, 100)) } })()
  try { return { result: await body(), load } } finally { on = false; await pump }
}

t.test('a 3-board rollout: one board at a time, each ends on the new version, no invocation fails under light load', async (t) => {
  const { result: r, load } = await underLoad('up', async () => await wisp(['upgrade', '--to', '9.9.9', '--timeout', '20s', ...broker], 120_000))
  t.equal(r.code, 0, r.err)
  for (const id of ids) {
    t.match(r.out, new RegExp(`${id}: drain…\\n${id}: install…\\n${id}: health…\\n${id}: upgraded\\n`), `${id}'s steps in order`)
  }
  // One at a time: b2 starts only after b1 is done.
  t.ok(r.out.indexOf('b1: upgraded') < r.out.indexOf('b2: drain'))
  t.ok(r.out.indexOf('b2: upgraded') < r.out.indexOf('b3: drain'))
  t.match(r.out, /every board is on 9\.9\.9/)
  t.same(ids.map(version), ['9.9.9', '9.9.9', '9.9.9'])
  t.ok(await load.settle(15_000), 'every invocation answered')
  const s = load.stats()
  t.ok(s.sent >= 10, `load ran (${s.sent} invocations)`)
  t.equal(s.ok, s.sent, `no failed invocation: ${JSON.stringify(s.codes)}`)
})

t.test('a board whose install fails is rolled back and the rollout stops; the others keep serving', async (t) => {
  writeFileSync(join(c.dataDir, 'boards', 'b2', 'upgrade-fails'), '')
  const { result: r, load } = await underLoad('fail', async () => await wisp(['upgrade', '--to', '10.0.0', '--timeout', '20s', ...broker], 120_000))
  t.equal(r.code, 1)
  t.match(r.err, /the rollout to 10\.0\.0 stopped/)
  t.match(r.out, /b1: upgraded/)
  t.match(r.out, /b2: FAILED at install: simulated install of wisp 10\.0\.0 failed; rolled back to 9\.9\.9/)
  t.match(r.out, /b3: not started \(still on 9\.9\.9\)/)
  t.same(ids.map(version), ['10.0.0', '9.9.9', '9.9.9'], 'b2 stays on its version, b3 is not touched')
  await until(() => ids.every((id) => cluster.routable(id)), 10_000, 'every board to serve')
  t.ok(await load.settle(15_000), 'every invocation answered')
  const s = load.stats()
  t.equal(s.ok, s.sent, `no failed invocation: ${JSON.stringify(s.codes)}`)
  t.equal(cluster.get('b2')?.state?.upgrade_error, undefined, 'the rolled-back board no longer reports the failure')
})

t.test('an upgrade naming an unknown board is refused before anything starts; a board already on the version is left alone', async (t) => {
  const r = await wisp(['upgrade', '--to', '11.0.0', '--boards', 'b1,nosuch', ...broker], 30_000)
  t.equal(r.code, 2)
  t.match(r.err, /WISP_BAD_CONFIG: no board "nosuch"/)
  t.equal(version('b1'), '10.0.0')
  const again = await wisp(['upgrade', '--to', '10.0.0', '--boards', 'b1', ...broker], 30_000)
  t.equal(again.code, 0, again.err)
  t.match(again.out, /b1: already on it\n/)
})
