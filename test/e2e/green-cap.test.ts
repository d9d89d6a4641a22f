import t from 'tap'
import { testCluster } from '../helpers/cluster.js'
import { TestClient } from '../helpers/mqtt.js'
import { until } from '../helpers/leader-rig.js'
import { GreenConfigSchema, greenSetup } from '../../runtime/leader/green/green-config.js'
import { clusterDrawW } from '../../runtime/leader/policies/power-cap.js'
import type { Reply } from '../../runtime/protocol/messages.js'

// Four power-gated simulated boards (boots at 5 %), a gate that never gates an idle board by itself
// (idle 10 min), deciding every 300 ms: whatever gating happens here is the cap's.
const INTERVAL_MS = 300
const green = greenSetup(GreenConfigSchema.parse({ carbon: { g_per_kwh: 400 } }))

t.test('demand response and carbon windows move work on a live cluster of power-gated boards', async (t) => {
  const c = await testCluster({ boards: 4, policy: 'wisp', powerPolicy: { idleMs: 600_000, dwellMs: 1000, maxMinOnMs: 1000, intervalMs: INTERVAL_MS, waitTargetMs: 300 }, bootScale: 0.05, green })
  t.teardown(c.close)
  const leader = c.cluster.gateway.leader
  const view = (): ReturnType<typeof leader.cluster.view> => leader.cluster.view()
  const power = (): Record<string, string> => Object.fromEntries(view().boards.map((b) => [b.id, b.power]))
  await until(() => view().boards.length === 4 && view().boards.every((b) => b.power === 'on' && b.powerW > 0), 30_000, 'four boards on and gossiping power')
  const client = await TestClient.connect(c.url)
  t.teardown(async () => await client.close())
  await client.sub('wisp/result/me/#')
  const reply = async (req: string, ms = 30_000): Promise<Reply> => {
    const got = await client.waitFor((r) => r.some((x) => x.topic.endsWith(`/${req}`)), ms)
    return got.find((x) => x.topic.endsWith(`/${req}`))?.json as Reply
  }
  let seq = 0
  const plain = async (): Promise<Reply> => { const id = `p${seq++}`; await client.pub(`wisp/invoke/hello/me/${id}`, JSON.stringify({ name: id })); return await reply(id) }

  // (a) A cap below the idle cluster's draw: boards are gated until the measured power is under it.
  const before = clusterDrawW(view())
  const capW = before * 0.6
  await client.pub('wisp/grid/cap', JSON.stringify({ watts: capW }))
  await until(() => leader.green.capW === capW, 5000, 'the cap to apply')
  const capAt = Date.now()
  await until(() => Object.values(power()).includes('gated'), 10_000, 'the cap to gate a board')
  // After the first decision interval (and the gated board's shutdown), sample measured power while plain work is served.
  await until(() => clusterDrawW(view()) <= capW, 15_000, `the cluster under ${capW.toFixed(2)} W`)
  t.ok(Date.now() - capAt < 12_000, `under the cap ${Date.now() - capAt} ms after it was set (decision interval ${INTERVAL_MS} ms, then the gated boards' shutdown)`)
  const samples: number[] = []
  const sampler = setInterval(() => samples.push(clusterDrawW(view())), 50)
  t.teardown(() => clearInterval(sampler))
  for (let i = 0; i < 10; i++) {
    const r = await plain()
    t.ok(r.ok, `non-deferrable invocation ${i} served under the cap`)
  }
  clearInterval(sampler)
  const worst = Math.max(...samples)
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length
  // The cap is held by gating on measured power, so the boards left on may overshoot it briefly while
  // they run work (seen: 6 % on a loaded machine) until the next decision; on average it must hold.
  t.ok(samples.length > 5 && mean <= capW, `measured cluster power under ${capW.toFixed(2)} W on average (${mean.toFixed(2)} W, ${samples.length} samples; ${before.toFixed(2)} W uncapped)`)
  // The cap keeps the boards with the least idle draw per capacity (the Zero 2 W and the Orange Pi
  // Zero 3 here), so the work has headroom under it: gating by full-load efficiency once left the Pi 4
  // alone, 0.6 W under the cap at idle, and a busy sample went 22 % over.
  t.ok(worst <= capW * 1.1, `and never more than 10 % over it (worst ${worst.toFixed(2)} W)`)
  t.ok(leader.recentDecisions().some((d) => d.kind === 'power' && d.policy === 'cap'), 'the gating is a recorded cap decision')

  // A cap no board can meet: deferrable work waits while non-deferrable work still runs; lifting the cap releases it.
  await client.pub('wisp/grid/cap', JSON.stringify({ watts: 0.01 }))
  await until(() => leader.green.capW === 0.01, 5000, 'the tight cap')
  const sentAt = Date.now()
  await client.pub('wisp/invoke/hello/me/dcap', JSON.stringify({ $wisp: { deferrable: true, deadline_ms: 120_000 }, event: { name: 'deferred' } }))
  const p = await plain()
  t.ok(p.ok && p.receipt !== undefined && p.receipt.total_ms < 2000, `non-deferrable served at once under the tight cap (${p.receipt?.total_ms} ms)`)
  await new Promise((resolve) => setTimeout(resolve, 1000)) // the deferrable one must still be waiting after this
  t.notOk(client.received.some((x) => x.topic.endsWith('/dcap')), 'the deferrable one waits while the cluster is over the cap')
  await client.pub('wisp/grid/cap', JSON.stringify({ watts: null }))
  const d = await reply('dcap')
  t.ok(d.ok, 'released when the cap lifts')
  t.ok(Date.now() - sentAt >= 1000 && d.receipt !== undefined && d.receipt.total_ms >= 1000, `it waited (${d.receipt?.total_ms} ms)`)

  // (b) With a board still gated: a forecast green window 2-6 s ahead. Deferrable work waits for it and does
  // not wake the gated board; non-deferrable work runs now, at 400 g/kWh.
  const gated = Object.entries(power()).filter(([, s]) => s === 'gated').map(([id]) => id)
  t.ok(gated.length >= 1, `still gated after the cap lifted: ${gated.join(', ')}`)
  const woken = new Set<string>()
  const watch = setInterval(() => { for (const id of gated) if (power()[id] !== 'gated') woken.add(id) }, 20)
  t.teardown(() => clearInterval(watch))
  const now = Date.now()
  await client.pub('wisp/grid/carbon', JSON.stringify({ g_per_kwh: 400, forecast: [{ at: now + 2000, g_per_kwh: 50 }, { at: now + 6000, g_per_kwh: 400 }] }))
  const N = 6
  for (let i = 0; i < N; i++) await client.pub(`wisp/invoke/hello/me/g${i}`, JSON.stringify({ $wisp: { deferrable: true, deadline_ms: 60_000 }, event: { name: `g${i}` } }))
  const n = await plain()
  t.ok(n.ok && n.receipt !== undefined && n.receipt.total_ms < 1500, `non-deferrable did not wait (${n.receipt?.total_ms} ms)`)
  const nc = n.receipt?.carbon_mg ?? 0
  t.ok(n.receipt !== undefined && Math.abs(nc - n.receipt.energy_mj * 400 / 3.6e6) < 1e-5, 'and ran at 400 g/kWh')
  for (let i = 0; i < N; i++) {
    const g = await reply(`g${i}`)
    const r = g.receipt
    t.ok(g.ok && r !== undefined && r.total_ms >= 1900, `deferrable g${i} waited for the window (${r?.total_ms} ms)`)
    t.ok(r?.carbon_mg !== undefined && Math.abs(r.carbon_mg - r.energy_mj * 50 / 3.6e6) < 1e-5, `and ran at 50 g/kWh (${r?.carbon_mg} mg)`)
    t.ok(r !== undefined && !gated.includes(r.board), `on an awake board (${r?.board})`)
  }
  clearInterval(watch)
  t.same([...woken], [], 'no gated board was woken for deferrable work')
})
