import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { testCluster } from '../helpers/cluster.js'
import { TestClient } from '../helpers/mqtt.js'
import { until } from '../helpers/leader-rig.js'
import { GreenConfigSchema, greenSetup } from '../../runtime/leader/green/green-config.js'
import { intensityAt } from '../../runtime/leader/policies/carbon-signal.js'
import type { Reply } from '../../runtime/protocol/messages.js'

// `pi` sums 3 M terms of the Leibniz series; its variant `pi-approx` 3 k terms: same answer to 3 digits, ~1000x less work.
const dir = mkdtempSync(join(tmpdir(), 'wisp-variants-'))
const leibniz = (terms: number): string => `export async function handler () { let s = 0; for (let k = 0; k < ${terms}; k++) s += (k % 2 === 0 ? 4 : -4) / (2 * k + 1); return { pi: s } }\n`
writeFileSync(join(dir, 'pi.js'), leibniz(3_000_000))
writeFileSync(join(dir, 'pi.json'), JSON.stringify({ variants: ['pi-approx'] }))
writeFileSync(join(dir, 'pi-approx.js'), leibniz(3000))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

t.test('under high carbon or a tight cap, an invoke that accepts variants runs the cheaper one; the receipt says which', async (t) => {
  const c = await testCluster({ boards: 1, policy: 'wisp-no-gate', functionsDir: dir, green: greenSetup(GreenConfigSchema.parse({ carbon: { g_per_kwh: 400 } })) })
  t.teardown(c.close)
  const leader = c.cluster.gateway.leader
  const client = await TestClient.connect(c.url)
  t.teardown(async () => await client.close())
  await client.sub('wisp/result/me/#')
  let seq = 0
  const call = async (fn: string, payload: unknown): Promise<Reply> => {
    const id = `r${seq++}`
    await client.pub(`wisp/invoke/${fn}/me/${id}`, JSON.stringify(payload))
    const got = await client.waitFor((r) => r.some((x) => x.topic.endsWith(`/${id}`)), 30_000)
    return got.find((x) => x.topic.endsWith(`/${id}`))?.json as Reply
  }
  const accept = { $wisp: { accept_variants: true } }

  // Nothing learned yet: equal priors, so the function itself runs even at 400 g/kWh.
  const first = await call('pi', accept)
  t.ok(first.ok && first.receipt?.variant === 'pi' && first.receipt.function === 'pi', `before learning: pi itself (${first.receipt?.variant})`)
  // The learner learns both from their receipts.
  const energy = { pi: [] as number[], approx: [] as number[] }
  for (let i = 0; i < 3; i++) {
    const p = await call('pi', null)
    const a = await call('pi-approx', null)
    t.ok(p.ok && a.ok)
    energy.pi.push(p.receipt?.energy_mj ?? NaN)
    energy.approx.push(a.receipt?.energy_mj ?? NaN)
  }
  const hi = await call('pi', accept)
  t.ok(hi.ok, 'answered')
  t.equal(hi.receipt?.function, 'pi', 'the receipt is for the function invoked')
  t.equal(hi.receipt?.variant, 'pi-approx', 'at 400 g/kWh the cheaper variant ran')
  t.ok(hi.ok && Math.abs((hi.result as { pi: number }).pi - Math.PI) < 1e-3, 'and answered well enough')
  const plain = await call('pi', null)
  t.ok(plain.ok && plain.receipt !== undefined && plain.receipt.variant === undefined && plain.receipt.function === 'pi', 'a caller that does not accept variants gets the function itself')
  // One receipt each is a noisy comparison (one run of pi-approx was once attributed 156 mJ against
  // pi's 133 in a full-suite run); the mean of four each is the claim.
  energy.approx.push(hi.receipt?.energy_mj ?? NaN)
  energy.pi.push(plain.receipt?.energy_mj ?? NaN)
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
  t.ok(mean(energy.approx) < mean(energy.pi), `the variant's receipts show less energy: mean ${mean(energy.approx).toFixed(1)} mJ < ${mean(energy.pi).toFixed(1)} mJ (4 runs each)`)

  // Low carbon: the function itself; a tight cap: the variant again.
  await client.pub('wisp/grid/carbon', JSON.stringify({ g_per_kwh: 40 }))
  await until(() => intensityAt(leader.green.setup.book.signalFor(null), Date.now()) === 40, 5000, 'the carbon message')
  const lo = await call('pi', accept)
  t.equal(lo.ok && lo.receipt?.variant, 'pi', 'at 40 g/kWh the function itself ran')
  await client.pub('wisp/grid/cap', JSON.stringify({ watts: 0.5 }))
  await until(() => leader.green.capW === 0.5, 5000, 'the cap')
  const capped = await call('pi', accept)
  t.equal(capped.ok && capped.receipt?.variant, 'pi-approx', 'under a tight cap the cheaper variant ran')
  t.same((await call('pi', { $wisp: { accept_variants: 1 } }) as { error?: { code: string } }).error?.code, 'WISP_BAD_PAYLOAD', 'a bad option is refused')
})
