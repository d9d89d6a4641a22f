import t, { type Test } from 'tap'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { encode, parseManifest } from '../../runtime/protocol/messages.js'
import { triggerFilterProblem } from '../../runtime/protocol/triggers.js'
import { nextTick } from '../../runtime/leader/schedule.js'
import { WispError } from '../../runtime/shared/errors.js'

const CODE = 'export async function handler (e) { return e }'

const refused = (t: Test, triggers: object, why: RegExp): void => {
  try {
    buildManifest('f', CODE, { triggers })
    t.fail(`accepted ${JSON.stringify(triggers).slice(0, 80)}`)
  } catch (err) {
    t.ok(err instanceof WispError && err.code === 'WISP_BAD_CONFIG', `WISP_BAD_CONFIG for ${JSON.stringify(triggers).slice(0, 80)}`)
    t.match((err as Error).message, why)
  }
}

t.test('topic filters under wisp/, or that could match it, are refused at deploy', async (t) => {
  for (const f of ['wisp/#', 'wisp/invoke/hello', 'wisp', '#', '+/temp', '+/+/#', '+']) refused(t, { on: [f] }, /cluster's own topics/)
  refused(t, { on: ['$SYS/#'] }, /broker topic/)
  refused(t, { on: ['sensors/#/temp'] }, /'#'/)
  refused(t, { on: ['sensors/te+mp'] }, /'\+'/)
  refused(t, { on: ['sensors/a#'] }, /'#'/)
  refused(t, { on: [''] }, /empty/)
  refused(t, { on: ['s/' + 'x'.repeat(300)] }, /longer than 256/)
  refused(t, { on: ['a', 'a'] }, /twice/)
  refused(t, { on: Array.from({ length: 9 }, (_, i) => `s/${i}`) }, /triggers\.on/)
})

t.test('a filter under a configured prefix is refused by the leader\'s check', async (t) => {
  t.match(triggerFilterProblem('edge/#', 'edge'), /under "edge\/"/)
  t.equal(triggerFilterProblem('wispy/#', 'wisp'), null)
  t.equal(triggerFilterProblem('sensors/+/temp'), null)
  t.equal(triggerFilterProblem('/leading/slash'), null)
})

t.test('an invalid cron, interval or time zone is a clear WISP_BAD_CONFIG', async (t) => {
  refused(t, { cron: '61 * * * *' }, /invalid cron expression "61 \* \* \* \*".*0-59/)
  refused(t, { cron: 'every day' }, /invalid cron expression/)
  refused(t, { cron: '* * *' }, /3 fields; expected 5/)
  refused(t, { cron: '*/5 * * * *', tz: 'Mars/Olympus' }, /IANA time zone/)
  refused(t, { every_ms: 10 }, /at least 1 s/)
  refused(t, { every_ms: 30_000, cron: '* * * * *' }, /one schedule/)
})

t.test('valid triggers survive the retained manifest round trip, with their defaults', async (t) => {
  const m = buildManifest('f', CODE, { triggers: { on: ['sensors/+/temp', 'doors/#'], cron: '*/5 * * * *', tz: 'Europe/Paris' } })
  t.same(parseManifest(encode(m)).triggers, { on: ['sensors/+/temp', 'doors/#'], cron: '*/5 * * * *', tz: 'Europe/Paris', concurrency: 16, rate: 100, burst: 200 })
  t.equal(buildManifest('g', CODE).triggers, undefined, 'no triggers: the manifest is as before')
  t.equal(buildManifest('h', CODE, { triggers: { every_ms: 30_000 } }).triggers?.tz, 'UTC', 'UTC by default')
})

t.test('next ticks: strictly after the given time, cron read in its time zone', async (t) => {
  const at = Date.parse('2026-03-01T10:02:30Z')
  t.equal(nextTick({ every_ms: 30_000, tz: 'UTC' }, at), Date.parse('2026-03-01T10:03:00Z'))
  t.equal(nextTick({ every_ms: 30_000, tz: 'UTC' }, Date.parse('2026-03-01T10:03:00Z')), Date.parse('2026-03-01T10:03:30Z'), 'a tick time itself is not repeated')
  t.equal(nextTick({ cron: '*/5 * * * *', tz: 'UTC' }, at), Date.parse('2026-03-01T10:05:00Z'))
  t.equal(nextTick({ cron: '*/5 * * * *', tz: 'UTC' }, Date.parse('2026-03-01T10:05:00Z')), Date.parse('2026-03-01T10:10:00Z'))
  t.equal(nextTick({ cron: '0 9 * * *', tz: 'Europe/Paris' }, at), Date.parse('2026-03-02T08:00:00Z'), '09:00 in Paris is 08:00 UTC in March')
  t.equal(nextTick({ cron: '0 9 * * *', tz: 'UTC' }, at), Date.parse('2026-03-02T09:00:00Z'))
  t.equal(nextTick({ tz: 'UTC' }, at), null, 'no schedule')
})
