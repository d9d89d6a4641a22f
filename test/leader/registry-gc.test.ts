import t from 'tap'
import { MAX_CODE_BYTES, encode } from '../../runtime/protocol/messages.js'
import { buildManifest, sha256 } from '../../runtime/protocol/manifest.js'
import { TestClient } from '../helpers/mqtt.js'
import { CODE_GRACE_MS } from '../../runtime/leader/registry.js'
import { MAX_VERSIONS } from '../../runtime/protocol/admin.js'
import { ManualClock } from '../../runtime/shared/clock.js'
import { leaderRig, until } from '../helpers/leader-rig.js'

// The grace period runs on a manual clock: it ends when the test says, not when a loaded machine does.
const clock = new ManualClock()
const rig = await leaderRig({ clock, registry: { maxPendingCode: 4 } })
t.teardown(rig.close)
const attacker = await TestClient.connect(rig.broker.url)
t.teardown(() => attacker.close())

/** What a newcomer finds retained on a code topic (nothing once cleared). */
const retained = async (sha: string): Promise<string | null> => {
  const c = await TestClient.connect(rig.broker.url)
  try {
    await c.sub(`wisp/code/${sha}`)
    await c.sub('wisp/leader/barrier')
    await c.pub('wisp/leader/barrier', 'x', { qos: 1 })
    await c.waitFor(() => c.on('wisp/leader/barrier').length > 0, 5000)
    const got = c.on(`wisp/code/${sha}`)
    return got.length > 0 ? got[0]?.payload.toString() ?? null : null
  } finally { await c.close() }
}
let barriers = 0
/** The registry handles one client's messages in order: once it has this manifest, it has seen what the attacker sent before. */
const barrier = async (): Promise<void> => {
  const name = `barrier-${++barriers}`
  await attacker.pub(`wisp/functions/${name}`, encode(buildManifest(name, `// ${name}`)), { retain: true })
  await until(() => rig.registry.get(name) !== undefined, 5000, name)
  await rig.registry.settled()
}
const fn = (n: number): string => `export async function handler () { return ${n} }`

t.test('code no manifest claims is cleared exactly when the grace period ends, and never stored', async (t) => {
  const code = fn(1)
  const sha = sha256(code)
  await attacker.pub(`wisp/code/${sha}`, code, { retain: true })
  await barrier()
  t.equal(await retained(sha), code, 'held while a manifest may still follow')
  clock.advance(CODE_GRACE_MS - 1)
  await rig.registry.settled()
  t.equal(await retained(sha), code, 'still held 1 ms before the grace period ends')
  clock.advance(1)
  await rig.registry.settled()
  t.equal(await retained(sha), null, 'the retained message is cleared')
  await rig.registry.settled()
  t.equal(await rig.registry.code(sha), undefined)
})

t.test('a flood of unclaimed blobs holds at most maxPendingCode in memory', async (t) => {
  const shas = []
  for (let i = 0; i < 10; i++) { const c = fn(100 + i); shas.push(sha256(c)); await attacker.pub(`wisp/code/${sha256(c)}`, c, { retain: true }) }
  await barrier()
  const left = await Promise.all(shas.map(async (s) => await retained(s)))
  t.ok(left.filter((x) => x !== null).length <= 4, 'older ones were dropped and cleared at once')
})

t.test('a replaced version\'s code is kept while its version is (for rollback); then, or once removed, collected', async (t) => {
  await rig.deploy('f', fn(2))
  const v1 = sha256(fn(2))
  t.equal(await rig.registry.code(v1), fn(2))
  await rig.deploy('f', fn(3))
  await rig.registry.settled()
  t.equal(await rig.registry.code(v1), fn(2), 'v1 kept: it is in the version history')
  for (let n = 0; n < MAX_VERSIONS - 1; n++) await rig.deploy('f', fn(100 + n))
  await rig.registry.settled()
  t.equal(rig.registry.history('f')?.versions.length, MAX_VERSIONS)
  t.equal(await rig.registry.code(v1), undefined, 'v1 deleted from the store once out of the history')
  t.equal(await retained(v1), null, 'and from the broker')
  await rig.deploy('g', fn(3))
  await attacker.pub('wisp/functions/f', '', { retain: true })
  await until(() => rig.registry.get('f') === undefined, 5000, 'f removed')
  await rig.registry.settled()
  t.equal(await rig.registry.code(sha256(fn(3))), fn(3), 'still referenced by g')
  t.equal(await rig.registry.code(sha256(fn(100))), undefined, 'f\'s other versions collected')
  await attacker.pub('wisp/functions/g', '', { retain: true })
  await until(() => rig.registry.get('g') === undefined, 5000, 'g removed')
  await rig.registry.settled()
  t.equal(await rig.registry.code(sha256(fn(3))), undefined)
})

t.test('oversized or forged blobs are cleared, or replaced by the real code', async (t) => {
  const big = 'x'.repeat(MAX_CODE_BYTES + 1)
  await attacker.pub(`wisp/code/${sha256(big)}`, big, { retain: true })
  await barrier()
  t.equal(await retained(sha256(big)), null)
  await rig.deploy('h', fn(4))
  const sha = sha256(fn(4))
  await attacker.pub(`wisp/code/${sha}`, 'export async function handler () { return "evil" }', { retain: true })
  const deadline = Date.now() + 5000
  while (await retained(sha) !== fn(4) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(await retained(sha), fn(4), 'the stored code is published again')
})

t.test('a manifest whose size does not match its code is ignored', async (t) => {
  const m = buildManifest('sized', fn(5))
  await attacker.pub(`wisp/code/${m.sha256}`, fn(5), { retain: true })
  await attacker.pub('wisp/functions/sized', encode({ ...m, size: m.size + 10 }), { retain: true })
  await barrier()
  t.equal(rig.registry.get('sized'), undefined)
  await attacker.pub('wisp/functions/sized', encode(m), { retain: true })
  await until(() => rig.registry.get('sized') !== undefined, 5000, 'the honest manifest')
  await rig.registry.settled()
  t.equal(await rig.registry.code(m.sha256), fn(5))
})
