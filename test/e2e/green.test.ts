import t from 'tap'
import { testCluster } from '../helpers/cluster.js'
import { TestClient } from '../helpers/mqtt.js'
import { until } from '../helpers/leader-rig.js'
import { GreenConfigSchema, greenSetup } from '../../runtime/leader/green/green-config.js'
import type { Reply } from '../../runtime/protocol/messages.js'

// A gateway that prices energy and board time, on a grid at 400 gCO2/kWh until told otherwise.
const PRICE = { per_joule: 0.002, per_board_second: 0.01 }
const green = greenSetup(GreenConfigSchema.parse({ carbon: { g_per_kwh: 400 }, price: PRICE }))

t.test('receipts carry carbon and cost; deferrable work waits for the green window the grid topic announces', async (t) => {
  const c = await testCluster({ boards: 1, policy: 'wisp-no-gate', green })
  t.teardown(c.close)
  const client = await TestClient.connect(c.url)
  t.teardown(async () => await client.close())
  await client.sub('wisp/result/me/#')
  const reply = async (req: string): Promise<Reply> => {
    const got = await client.waitFor((r) => r.some((x) => x.topic.endsWith(`/${req}`)), 20_000)
    return got.find((x) => x.topic.endsWith(`/${req}`))?.json as Reply
  }

  await client.pub('wisp/invoke/hello/me/r1', JSON.stringify({ name: 'x' }))
  const r1 = await reply('r1')
  t.ok(r1.ok, 'a plain invoke works')
  const rc = r1.receipt
  if (rc === undefined) throw new Error('no receipt')
  t.ok(rc.carbon_mg !== undefined && Math.abs(rc.carbon_mg - rc.energy_mj * 400 / 3.6e6) < 1e-5, `carbon_mg ${rc.carbon_mg} = energy × 400 g/kWh`)
  t.ok(rc.cost !== undefined && Math.abs(rc.cost - (rc.energy_mj / 1000 * PRICE.per_joule + rc.run_ms / 1000 * PRICE.per_board_second)) < 1e-8, `cost ${rc.cost}`)

  // The grid forecasts a green window 2-6 s from now.
  const now = Date.now()
  await client.pub('wisp/grid/carbon', JSON.stringify({ g_per_kwh: 400, forecast: [{ at: now + 2000, g_per_kwh: 50 }, { at: now + 6000, g_per_kwh: 400 }] }))
  await client.pub('wisp/invoke/hello/me/d1', JSON.stringify({ $wisp: { deferrable: true, deadline_ms: 60_000 }, event: { name: 'later' } }))
  await client.pub('wisp/invoke/hello/me/n1', JSON.stringify({ name: 'now' }))
  const n1 = await reply('n1')
  const d1 = await reply('d1')
  t.ok(n1.ok && d1.ok, 'both answered')
  t.match(d1.ok && d1.result, { greeting: 'hello, later' }, 'the envelope\'s event reached the handler')
  const dr = d1.receipt
  const nr = n1.receipt
  if (dr === undefined || nr === undefined) throw new Error('no receipts')
  t.ok(nr.total_ms < 1500, `the non-deferrable one did not wait (${nr.total_ms} ms)`)
  t.ok(dr.total_ms >= 1900, `the deferrable one waited for the window (${dr.total_ms} ms)`)
  t.ok(dr.carbon_mg !== undefined && Math.abs(dr.carbon_mg - dr.energy_mj * 50 / 3.6e6) < 1e-5, 'and ran at 50 g/kWh')

  // The grid turns green now: a deferrable invoke runs at once.
  await client.pub('wisp/grid/carbon', JSON.stringify({ g_per_kwh: 30 }))
  await client.pub('wisp/invoke/hello/me/d2', JSON.stringify({ $wisp: { deferrable: true, deadline_ms: 60_000 }, event: null }))
  const d2 = await reply('d2')
  t.ok(d2.ok && d2.receipt !== undefined && d2.receipt.total_ms < 1500, 'no wait when now is the greenest')

  await client.pub('wisp/invoke/hello/me/b1', JSON.stringify({ $wisp: { budget: 0.000001 } }))
  const b1 = await reply('b1')
  t.same(!b1.ok && b1.error.code, 'WISP_OVER_BUDGET', 'a budget no board fits is refused')
  await client.pub('wisp/invoke/hello/me/x1', JSON.stringify({ $wisp: { deferrable: true } }))
  const x1 = await reply('x1')
  t.same(!x1.ok && x1.error.code, 'WISP_BAD_PAYLOAD', 'deferrable without a deadline is a bad envelope')
  t.match(!x1.ok && x1.error.message, /deadline_ms/)

  // Demand response: the cap topic sets and lifts the leader's cluster power cap; a bad one is ignored.
  const leader = c.cluster.gateway.leader
  await client.pub('wisp/grid/cap', JSON.stringify({ watts: 5 }))
  await until(() => leader.green.capW === 5, 5000, 'the cap to apply')
  await client.pub('wisp/grid/cap', JSON.stringify({ watts: -1 }))
  await client.pub('wisp/grid/cap', JSON.stringify({ watts: null }))
  await until(() => leader.green.capW === null, 5000, 'the cap to lift')

  const metrics = await (await fetch(new URL('/metrics', c.cluster.gateway.statusUrl ?? ''))).text()
  t.match(metrics, /wisp_carbon_grams_total\{function="hello",board="b1"\} [0-9.e-]+/, '/metrics has carbon totals')
  t.match(metrics, /wisp_cost_total\{function="hello",board="b1"\}/)
})
