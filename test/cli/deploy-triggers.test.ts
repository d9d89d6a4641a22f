import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { leaderRig, until } from '../helpers/leader-rig.js'
import { runWisp as wisp } from '../helpers/wisp-cli.js'

const dir = mkdtempSync(join(tmpdir(), 'wisp-deploy-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const file = join(dir, 'f.js')
writeFileSync(file, 'export async function handler (e) { return e }\n')

t.test('wisp deploy --on/--cron/--tz puts the triggers in the retained manifest', async (t) => {
  const rig = await leaderRig()
  t.teardown(rig.close)
  const r = await wisp(['deploy', 'thermo', file, '--broker', rig.broker.url, '--on', 'sensors/+/temp', '--on', 'doors/#', '--cron', '*/5 * * * *', '--tz', 'Europe/Paris', '--trigger-concurrency', '2', '--trigger-rate', '5'])
  t.equal(r.code, 0, r.err)
  t.match(r.out, /on sensors\/\+\/temp, on doors\/#, cron "\*\/5 \* \* \* \*" \(Europe\/Paris\)/)
  await until(() => rig.registry.get('thermo') !== undefined, 5000, 'the manifest')
  t.same(rig.registry.get('thermo')?.triggers, { on: ['sensors/+/temp', 'doors/#'], cron: '*/5 * * * *', tz: 'Europe/Paris', concurrency: 2, rate: 5, burst: 10 })
  const e = await wisp(['deploy', 'tick', file, '--broker', rig.broker.url, '--every', '30s'])
  t.equal(e.code, 0, e.err)
  await until(() => rig.registry.get('tick') !== undefined, 5000, 'the manifest')
  t.same(rig.registry.get('tick')?.triggers, { on: [], every_ms: 30_000, tz: 'UTC', concurrency: 16, rate: 100, burst: 200 })
})

t.test('wisp deploy --publishes puts the publish filters in the retained manifest', async (t) => {
  const rig = await leaderRig()
  t.teardown(rig.close)
  const r = await wisp(['deploy', 'fan', file, '--broker', rig.broker.url, '--on', 'sensors/+/temp', '--publishes', 'actuators/#', '--publishes', 'lights/+/set'])
  t.equal(r.code, 0, r.err)
  t.match(r.out, /on sensors\/\+\/temp, publishes actuators\/#, lights\/\+\/set/)
  await until(() => rig.registry.get('fan') !== undefined, 5000, 'the manifest')
  t.same(rig.registry.get('fan')?.publishes, ['actuators/#', 'lights/+/set'])
})

// Refused before any connection: the broker address is never used. (The schema's other refusals: test/protocol/triggers.test.ts.)
const refused: Array<[string, string[], RegExp]> = [
  ['an invalid cron', ['--cron', '61 * * * *'], /WISP_BAD_CONFIG: function f: triggers\.cron: invalid cron expression "61 \* \* \* \*"/],
  ['a trigger on wisp/#', ['--on', 'wisp/#'], /WISP_BAD_CONFIG: .*topic filter "wisp\/#" is under "wisp\/"/],
  ['a trigger on #', ['--on', '#'], /WISP_BAD_CONFIG: .*topic filter "#" starts with a wildcard/],
  ['an interval without a unit', ['--every', '30'], /WISP_BAD_CONFIG: --every must be a number and a unit/],
  ['both --every and --cron', ['--every', '1m', '--cron', '* * * * *'], /WISP_BAD_CONFIG: .*not both/],
  ['publishing under wisp/', ['--publishes', 'wisp/#'], /WISP_BAD_CONFIG: function f: publishes\.0: publish filter "wisp\/#" is under "wisp\/"/],
  ['publishing to #', ['--publishes', '#'], /WISP_BAD_CONFIG: .*publish filter "#" starts with a wildcard/],
  ['--tz without --cron', ['--every', '1m', '--tz', 'Europe/Paris'], /WISP_BAD_CONFIG: --tz applies to --cron only/]
]
for (const [what, args, why] of refused) {
  t.test(`wisp deploy refuses ${what}`, async (t) => {
    const r = await wisp(['deploy', 'f', file, '--broker', 'mqtt://127.0.0.1:1', ...args])
    t.equal(r.code, 2, 'exit code 2 (usage or config)')
    t.match(r.err, why)
  })
}
