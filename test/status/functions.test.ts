import t from 'tap'
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { GreenConfigSchema, greenSetup } from '../../runtime/leader/green/green-config.js'
import type { FunctionRow } from '../../runtime/protocol/admin.js'
import type { ClusterSnapshot } from '../../runtime/status/types.js'
import { cliCluster, fnFiles } from '../helpers/cli-rig.js'
import { httpRequest } from '../helpers/http.js'
import { until } from '../helpers/leader-rig.js'
import { runWisp as wisp } from '../helpers/wisp-cli.js'
import { chromiumMissing, collectErrors, launch } from './browser-helpers.js'

// A real gateway (aedes, leader, admin, cluster page) and one board process; functions deployed
// with the real CLI, invoked over MQTT, then read back from /api/cluster, Chromium and `wisp ls`.
const ARTIFACTS = fileURLToPath(new URL('../artifacts/tmp/', import.meta.url))
const SECRET = 'sk-live-7f3a9c41d2'
const G_PER_KWH = 400

const { file, empty } = fnFiles('pages', (f) => t.teardown(f))
const thermo = file('thermo.js', 'export async function handler (e) { return { c: e.payload?.c ?? e.c } }\n')
const fetcher = file('fetcher.js', 'export async function handler (e, context) { throw new Error("upstream refused key " + context.env.API_KEY + " for " + e.city) }\n')

const green = greenSetup(GreenConfigSchema.parse({ carbon: { g_per_kwh: G_PER_KWH } }))
const { c, broker, client, invoke } = await cliCluster((f) => t.teardown(f), { boards: 1, functionsDir: empty, policy: 'wisp-no-gate', green }, ['wisp/admin/tester/#'])
const gw = c.cluster.gateway
const apiFunctions = async (): Promise<readonly FunctionRow[]> => {
  const r = await httpRequest(new URL('/api/cluster', gw.statusUrl as string).href, { method: 'GET' })
  t.equal(r.status, 200)
  t.notOk(r.text.includes(SECRET), 'the page API carries no secret value')
  return (r.json as ClusterSnapshot).functions ?? []
}

t.before(async () => {
  for (const args of [
    ['deploy', 'thermo', thermo, '--on', 'sensors/+/temp', '--publishes', 'actuators/#', '--memory-mb', '32'],
    ['deploy', 'thermo', thermo, '--on', 'sensors/+/temp', '--publishes', 'actuators/#', '--memory-mb', '32', '--timeout-ms', '3000'],
    ['deploy', 'fetcher', fetcher]
  ]) {
    const r = await wisp([...args, ...broker])
    if (r.code !== 0) throw new Error(`wisp ${args.join(' ')}: ${r.err}`)
  }
  // The secret goes in as `wisp secret set` sends it: an admin request (its value never on a command line).
  await client.pub('wisp/admin/tester/s1', JSON.stringify({ v: 1, op: 'secret-set', fn: 'fetcher', name: 'API_KEY', value: SECRET }))
  await client.waitFor(() => client.on('wisp/admin/tester/s1/reply').length > 0, 10_000)
  for (let i = 0; i < 3; i++) if (!(await invoke('thermo', { c: 20 + i })).ok) throw new Error('thermo failed')
  const failed = await invoke('fetcher', { city: 'Lyon' })
  if (failed.ok) throw new Error('fetcher should fail')
  await client.pub('sensors/kitchen/temp', JSON.stringify({ c: 31 }))
  await until(() => gw.admin.stats.view('thermo').invocations === 4, 15_000, 'the triggered run of thermo')
})

t.test('(a) /api/cluster lists every function with version, triggers, figures, carbon and its error', async (t) => {
  const fns = await apiFunctions()
  t.same(fns.map((f) => f.name), ['fetcher', 'thermo'])
  const [fetcherRow, thermoRow] = fns as [FunctionRow, FunctionRow]
  t.equal(thermoRow.version, 2, 'the current version')
  t.equal(thermoRow.versions_kept, 2, 'and how many are kept')
  t.same(thermoRow.triggers?.on, ['sensors/+/temp'])
  t.same(thermoRow.publishes, ['actuators/#'])
  t.equal(thermoRow.memory_mb, 32)
  t.equal(thermoRow.timeout_ms, 3000)
  t.equal(thermoRow.stats.invocations, 4, 'three invokes and one triggered run')
  t.equal(thermoRow.stats.errors, 0)
  t.ok((thermoRow.stats.p50_ms ?? 0) > 0 && (thermoRow.stats.p99_ms ?? 0) >= (thermoRow.stats.p50_ms ?? 0), 'p50 and p99')
  const mj = thermoRow.stats.energy_mj_per_invocation ?? 0
  t.ok(mj > 0, `energy per invocation ${mj} mJ`)
  const mg = thermoRow.stats.carbon_mg_per_invocation ?? 0
  // carbon_mg = energy × intensity: mJ → kWh is ÷ 3.6e9, g → mg is × 1000.
  t.ok(Math.abs(mg - mj * G_PER_KWH / 3.6e6) <= mg * 0.05 + 1e-9, `carbon per invocation ${mg} mg at ${G_PER_KWH} g/kWh`)
  t.ok(Math.abs((thermoRow.stats.carbon_mg_total ?? 0) - 4 * mg) <= mg * 0.1, 'total carbon is the sum over its invocations')
  t.same(thermoRow.recent_errors, [])
  t.same(gw.admin.stats.view('thermo'), thermoRow.stats, 'the same figures as the admin service keeps for wisp ls')

  t.equal(fetcherRow.version, 1)
  t.equal(fetcherRow.triggers, null)
  t.equal(fetcherRow.stats.errors, 1)
  t.equal(fetcherRow.recent_errors.length, 1)
  const e = fetcherRow.recent_errors[0]
  t.equal(e?.code, 'WISP_FUNCTION_ERROR')
  t.match(e?.message, /upstream refused key \[secret API_KEY\] for Lyon/, 'the message, with the secret value redacted')
  t.ok(typeof e?.at === 'number' && Math.abs(Date.now() - e.at) < 60_000, 'and its time')
})

t.test('(b) Chromium renders the functions table with those values', { skip: chromiumMissing }, async (t) => {
  mkdirSync(ARTIFACTS, { recursive: true })
  const browser = await launch()
  t.teardown(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  const errors = collectErrors(page)
  await page.goto(gw.statusUrl as string)
  await page.waitForSelector('#functions tr[data-errors-of="fetcher"] li', { timeout: 10_000 })
  t.same(await page.$$eval('#functions tr[data-fn]', (rows) => rows.map((r) => r.getAttribute('data-fn'))), ['fetcher', 'thermo'])
  const row = async (fn: string, cell: string): Promise<string> => (await page.textContent(`#functions tr[data-fn="${fn}"] ${cell}`)) ?? ''
  t.match(await row('thermo', 'td:first-child'), /thermo\s*v2 · 2 kept/)
  t.equal(await row('thermo', '.triggers'), 'on sensors/+/temp')
  t.equal(await row('thermo', '.publishes'), 'actuators/#')
  t.match(await row('thermo', '.limits'), /32 MB · 3\.00 s/)
  t.equal(await row('thermo', '.invocations'), '4')
  const stats = gw.admin.stats.view('thermo')
  t.equal(await row('thermo', '.energy'), `${stats.energy_mj_per_invocation} mJ`)
  t.equal(Number(await page.getAttribute('#functions tr[data-fn="thermo"] .carbon', 'data-mg')), stats.carbon_mg_per_invocation)
  t.equal(await row('thermo', '.carbon'), `${stats.carbon_mg_per_invocation} mg`)
  t.equal(await row('thermo', '.carbon-total'), `${stats.carbon_mg_total} mg`)
  t.match(await row('fetcher', '.invocations'), /1\s*1 failed/)
  t.match(await page.textContent('#functions tr[data-errors-of="fetcher"]'), /WISP_FUNCTION_ERROR.*upstream refused key \[secret API_KEY\] for Lyon/s, 'its recent error, in a row under it')
  t.equal(await page.$$eval('#functions tr[data-errors-of="thermo"]', (r) => r.length), 0, 'no error row for a function without failures')

  // Live: a new invocation reaches the table over SSE, no reload.
  t.equal((await invoke('thermo', { c: 25 })).ok, true)
  await page.waitForSelector('#functions tr[data-fn="thermo"] .invocations:text-is("5")', { timeout: 10_000 })

  t.notOk((await page.content()).includes(SECRET), 'no secret value anywhere on the page')
  await page.screenshot({ path: ARTIFACTS + 'status-cluster-functions.png', fullPage: true })
  t.same(errors, [], 'no console errors')

  // On a phone the wide table scrolls inside its section; the page itself does not scroll sideways.
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true })
  await phone.goto(gw.statusUrl as string)
  await phone.waitForSelector('#functions tr[data-errors-of="fetcher"] li', { timeout: 10_000 })
  const overflow = await phone.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth')
  t.ok(overflow <= 0, `phone: no sideways scrolling of the page (overflow ${overflow}px)`)
  await phone.screenshot({ path: ARTIFACTS + 'status-cluster-functions-phone.png', fullPage: true })
  await phone.close()
})

t.test('(c) wisp ls --json carries carbon per invocation; the table has its column; wisp describe shows the error', async (t) => {
  const ls = await wisp(['ls', '--json', ...broker])
  t.equal(ls.code, 0, ls.err)
  const fns = JSON.parse(ls.out) as FunctionRow[]
  const th = fns.find((f) => f.name === 'thermo')
  t.ok((th?.stats.carbon_mg_per_invocation ?? 0) > 0, `carbon_mg_per_invocation ${th?.stats.carbon_mg_per_invocation}`)
  t.same(th?.stats, gw.admin.stats.view('thermo'), 'the same figures as the page')
  const table = await wisp(['ls', ...broker])
  t.match(table.out, /mJ\/inv\s+mg CO2\/inv\n/)
  t.match(table.out, new RegExp(`\\nthermo\\s.*\\s${String(th?.stats.carbon_mg_per_invocation).replace('.', '\\.')}\\n`))
  const desc = await wisp(['describe', 'fetcher', ...broker])
  t.equal(desc.code, 0, desc.err)
  t.match(desc.out, /recent errors \(newest first\):\n {2}\S+ \S+ b1 r\d+ WISP_FUNCTION_ERROR: .*upstream refused key \[secret API_KEY\] for Lyon/)
  t.match(desc.out, /carbon [\d.e-]+ mg\/invocation/)
  t.notOk(desc.out.includes(SECRET), 'describe shows no secret value')
})

t.test('a failure is kept redacted: removing the secret later does not bring its value back', async (t) => {
  await client.pub('wisp/admin/tester/s2', JSON.stringify({ v: 1, op: 'secret-rm', fn: 'fetcher', name: 'API_KEY' }))
  await client.waitFor(() => client.on('wisp/admin/tester/s2/reply').length > 0, 10_000)
  const fns = await apiFunctions()
  t.match(fns.find((f) => f.name === 'fetcher')?.recent_errors[0]?.message, /key \[secret API_KEY\] for Lyon/)
  const logs = await wisp(['logs', 'fetcher', ...broker])
  t.match(logs.out, /ERROR WISP_FUNCTION_ERROR: .*\[secret API_KEY\] for Lyon/)
  t.notOk(logs.out.includes(SECRET), 'nor in the failure line wisp logs prints')
})
