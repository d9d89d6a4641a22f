import t from 'tap'
import { mkdtempSync, writeFileSync, readFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateTrace } from '../../runtime/sim/trace-gen.js'
import { parseTrace, resolveTraceFiles, sampleDuration, pctMean, DURATION_COLUMNS } from '../../runtime/sim/trace.js'

const dir = (): string => mkdtempSync(join(tmpdir(), 'wisp-trace-'))

t.test('a generated day parses back: exact format, join on hashes, top-N and window', async (t) => {
  const d = dir()
  const file = generateTrace(d, { functions: 30, minutes: 120, seed: 4, day: 3 })
  t.match(file, /invocations_per_function_md\.anon\.d03\.csv$/)
  const head = readFileSync(join(d, 'function_durations_percentiles.anon.d03.csv'), 'utf8').split('\n')[0]
  t.equal(head, DURATION_COLUMNS.join(','))
  const all = parseTrace(d)
  t.equal(all.fns.length, 30)
  t.equal(all.minutes, 120)
  const top = parseTrace(file, { top: 5, window: [11, 20] })
  t.equal(top.fns.length, 5)
  t.equal(top.minutes, 10)
  const sum = (f: { counts: Float64Array }): number => f.counts.reduce((a, b) => a + b, 0)
  t.ok(sum(top.fns[0]!) >= sum(top.fns[4]!))
  t.match(top.fns[0]!.name, /^[a-z0-9-]{1,64}$/)
  // Same seed, same bytes.
  const d2 = dir()
  generateTrace(d2, { functions: 30, minutes: 120, seed: 4, day: 3 })
  t.equal(readFileSync(file, 'utf8'), readFileSync(join(d2, 'invocations_per_function_md.anon.d03.csv'), 'utf8'))
})

t.test('durations are sampled from the percentile knots', async (t) => {
  const p = [1, 2, 10, 20, 30, 100, 200]
  t.equal(sampleDuration(p, 0), 1)
  t.equal(sampleDuration(p, 0.5), 20)
  t.equal(sampleDuration(p, 1), 200)
  t.ok(pctMean(p) > 20 && pctMean(p) < 40)
})

const write = (inv: string[], dur: string[]): string => {
  const d = dir()
  writeFileSync(join(d, 'invocations_per_function_md.anon.d01.csv'), inv.join('\n'))
  writeFileSync(join(d, 'function_durations_percentiles.anon.d01.csv'), dur.join('\n'))
  return d
}
const invHead = 'HashOwner,HashApp,HashFunction,Trigger,1,2,3'
const durHead = DURATION_COLUMNS.join(',')
const durRow = 'o,a,f,10,3,1,50,1,2,5,10,15,40,50'

t.test('malformed rows are WISP_BAD_CONFIG naming file and line, never a crash', async (t) => {
  const cases: Array<[string[], string[], RegExp]> = [
    [[invHead, 'o,a,f,http,1,2'], [durHead, durRow], /invocations.*line 2: 6 columns, expected 7/],
    [[invHead, 'o,a,f,http,1,x,3'], [durHead, durRow], /line 2: minute 2 is not a non-negative number/],
    [[invHead, 'o,a,f,http,1,-2,3'], [durHead, durRow], /minute 2/],
    [[invHead, 'o,a,f,http,1,2,3'], [durHead, 'o,a,f,10,3,1,50,1,2,5'], /durations.*line 2: 10 columns/],
    [[invHead, 'o,a,f,http,1,2,3'], [durHead, 'o,a,f,10,3,1,50,1,2,5,10,15,40,5'], /percentiles must not decrease/],
    [['Owner,App,Fn,Trigger,1'], [durHead, durRow], /header must be/],
    [[invHead, 'o,a,f,http,1,2,3'], ['nope'], /header must be/]
  ]
  for (const [inv, dur, msg] of cases) t.throws(() => parseTrace(write(inv, dur)), { code: 'WISP_BAD_CONFIG', message: msg })
  t.throws(() => parseTrace(write([invHead, 'o,a,f,http,1,2,3'], [durHead, durRow]), { window: [2, 9] }), { code: 'WISP_BAD_CONFIG', message: /window/ })
})

t.test('functions without durations are skipped and counted, as in the public trace', async (t) => {
  const tr = parseTrace(write([invHead, 'o,a,f,http,1,2,3', 'o,a,g,timer,0,0,1'], [durHead, durRow]))
  t.equal(tr.fns.length, 1)
  t.equal(tr.skipped, 1)
})

t.test('missing files and folders are WISP_BAD_CONFIG', async (t) => {
  t.throws(() => resolveTraceFiles('/nonexistent/trace'), { code: 'WISP_BAD_CONFIG' })
  const d = dir()
  mkdirSync(join(d, 'empty'))
  t.throws(() => resolveTraceFiles(join(d, 'empty')), { code: 'WISP_BAD_CONFIG', message: /no invocations/ })
  writeFileSync(join(d, 'invocations_per_function_md.anon.d09.csv'), invHead)
  t.throws(() => resolveTraceFiles(d), { code: 'WISP_BAD_CONFIG', message: /durations file .* missing/ })
})
