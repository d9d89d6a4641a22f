import t from 'tap'
import { getProfile } from '../../boards/index.js'
import { GreenConfigSchema, greenSetup } from '../../runtime/leader/green/green-config.js'
import { GreenState } from '../../runtime/leader/green/green-state.js'
import { splitEnvelope } from '../../runtime/leader/green/invoke-options.js'
import { carbonMg, runCost } from '../../runtime/leader/green/pricing.js'
import { intensityAt } from '../../runtime/leader/policies/carbon-signal.js'
import type { Receipt } from '../../runtime/protocol/messages.js'

const csv = 'timestamp,g\n1000,300\n5000,60\n'
const setup = greenSetup(GreenConfigSchema.parse({
  carbon: { csv: 'grid.csv' },
  sites: { barn: { g_per_kwh: 20 } },
  board_sites: { b2: 'barn' },
  price: { per_joule: 0.5, per_board_second: 2 },
  board_prices: { b3: { per_joule: 0, per_board_second: 0 } }
}), (f) => { if (f !== 'grid.csv') throw new Error('no such file'); return csv })
const receipt = (board: string): Receipt => ({ request_id: 'r', function: 'f', board, attempt: 0, cold: false, queue_ms: 0, run_ms: 1000, total_ms: 1000, energy_mj: 3600, power_w: 3.6 })

t.test('carbon and cost follow the board\'s site signal at run time and its price', async (t) => {
  t.equal(carbonMg(3.6e6, 100), 100, '3.6e6 mJ = 1 Wh; at 100 g/kWh that is 100 mg')
  t.equal(runCost(2000, 3000, { perJoule: 1, perBoardSecond: 10 }), 32)
  const g = new GreenState(setup)
  const p = getProfile('raspberry-pi-4b')
  const ref = (): number => 100
  t.match(g.onReceipt('f', receipt('b1'), p, 2500, ref), { carbon_mg: 3600 * 300 / 3.6e6, cost: 3.6 * 0.5 + 1 * 2 }, 'default site, CSV at 2000 ms (mid-run)')
  t.match(g.onReceipt('f', receipt('b1'), p, 9000, ref), { carbon_mg: 3600 * 60 / 3.6e6 })
  t.match(g.onReceipt('f', receipt('b2'), p, 2500, ref), { carbon_mg: 3600 * 20 / 3.6e6 }, 'board in the barn site')
  t.match(g.onReceipt('f', receipt('b3'), p, 2500, ref), { cost: 0 }, 'per-board price')
  t.equal(g.learner.estimate('f', p).samples, 4, 'the learner saw every receipt')
  t.match(g.onReceipt('f', receipt('b1'), p, 2500, ref, false), { carbon_mg: 3600 * 300 / 3.6e6 }, 'a receipt from a board whose power sensor fails still gets its figures')
  t.equal(g.learner.estimate('f', p).samples, 4, 'but the learner does not learn from an energy that was not measured')
})

t.test('grid messages replace a site\'s or a board\'s signal; bad ones are WISP_BAD_PAYLOAD', async (t) => {
  const { book } = greenSetup(GreenConfigSchema.parse({ carbon: { g_per_kwh: 200 } }))
  book.apply(Buffer.from(JSON.stringify({ g_per_kwh: 100, forecast: [{ at: 2000, g_per_kwh: 10 }, { at: 500, g_per_kwh: 999 }] })), 1000)
  t.equal(intensityAt(book.signalFor('b1'), 1500), 100)
  t.equal(intensityAt(book.signalFor('b1'), 2500), 10, 'the forecast')
  t.equal(intensityAt(book.signalFor(null), 800), 100, 'a past forecast point is dropped')
  book.apply(Buffer.from(JSON.stringify({ g_per_kwh: 7, board: 'b9' })), 1000)
  t.equal(intensityAt(book.signalFor('b9'), 1500), 7)
  t.equal(intensityAt(book.signalFor('b1'), 1500), 100)
  for (const bad of ['{', '{"g_per_kwh": -1}', '{"g_per_kwh": 1, "site": "a", "board": "b"}', '{"g_per_kwh": 1, "x": 1}', '[]']) {
    t.throws(() => book.apply(Buffer.from(bad), 1000), { code: 'WISP_BAD_PAYLOAD' }, bad)
  }
  t.throws(() => greenSetup(GreenConfigSchema.parse({ carbon: { csv: 'missing.csv' } }), () => { throw new Error('ENOENT') }), { code: 'WISP_BAD_CONFIG', message: /missing\.csv/ })
  t.notOk(GreenConfigSchema.safeParse({ carbon: { g_per_kwh: 1, csv: 'x' } }).success, 'one of constant and csv')
})

t.test('the invoke envelope: options and event, or the payload as the event', async (t) => {
  t.same(splitEnvelope({ a: 1 }), { event: { a: 1 }, options: null })
  t.same(splitEnvelope(null), { event: null, options: null })
  t.same(splitEnvelope({ $wisp: { deferrable: true, deadline_ms: 60000, budget: 5 }, event: [1] }), { event: [1], options: { deferrable: true, deadlineMs: 60000, budgetMj: 5 } })
  t.same(splitEnvelope({ $wisp: {} }), { event: null, options: {} })
  for (const bad of [{ $wisp: { deferrable: true } }, { $wisp: { deadline_ms: 0 } }, { $wisp: { budget: -1 } }, { $wisp: {}, other: 1 }, { $wisp: { deadline_ms: 1e12 } }, { $wisp: 3 }]) {
    t.throws(() => splitEnvelope(bad), { code: 'WISP_BAD_PAYLOAD' }, JSON.stringify(bad))
  }
  const g = new GreenState()
  g.applyCap(Buffer.from('{"watts": 12.5}'))
  t.equal(g.capW, 12.5)
  t.throws(() => g.applyCap(Buffer.from('{"watts": 0}')), { code: 'WISP_BAD_PAYLOAD' })
  g.applyCap(Buffer.from('{"watts": null}'))
  t.equal(g.capW, null)
})
