import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readmeSection, renderTable } from '../bench/table.js'
import { figure, info } from '../bench/lib/figures.js'
import { runMeta, sourcesDigest } from '../bench/lib/meta.js'
import { staleness } from '../bench/lib/staleness.js'

t.test('the README benchmark table shows exactly the committed bench/results figures, stale marks included', async (t) => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  t.equal(readmeSection(readme), renderTable(), 'run `npm run bench:table` after a benchmark or after changing the code a result measures')
})

t.test('every committed result has a mapped source set, and informational figures have met null', async (t) => {
  for (const s of staleness()) t.notMatch(s.reason, /no measured sources are mapped/, s.file)
  const dir = new URL('../../bench/results/', import.meta.url)
  for (const s of staleness()) {
    const doc = JSON.parse(readFileSync(new URL(s.file, dir), 'utf8')) as { figures: Array<{ figure: string, goal: string, met: boolean | null }> }
    for (const f of doc.figures) if (f.goal === 'informational') t.equal(f.met, null, `${s.file}: ${f.figure}`)
  }
})

t.test('a result is stale exactly when its measured sources differ from the digest it recorded', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-stale-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const meta = runMeta('routing')
  t.match(meta, { git_sha: /^[0-9a-f]{40}$/, command: /node/, sources_sha256: /^[0-9a-f]{64}$/ })
  t.type(meta.git_dirty, 'boolean')
  const doc = (digest: string | null) => JSON.stringify({ name: 'routing', ...meta, sources_sha256: digest, figures: [] })
  writeFileSync(join(dir, 'a-fresh.json'), doc(sourcesDigest('routing')))
  writeFileSync(join(dir, 'b-changed.json'), doc('0'.repeat(64)))
  writeFileSync(join(dir, 'c-old.json'), JSON.stringify({ name: 'routing', figures: [] }))
  writeFileSync(join(dir, 'd-unmapped.json'), JSON.stringify({ name: 'no-such-bench', figures: [] }))
  t.same(staleness(dir).map((s) => [s.file, s.stale]), [['a-fresh.json', false], ['b-changed.json', true], ['c-old.json', true], ['d-unmapped.json', true]])
  const table = renderTable(dir)
  t.notMatch(table, /routing \(stale\)/, 'no figures, no rows')
  writeFileSync(join(dir, 'b-changed.json'), JSON.stringify({ ...JSON.parse(doc('0'.repeat(64))) as object, figures: [info({ figure: 'x', value: 1, unit: 'ms', baseline: null, baseline_value: null })] }))
  t.match(renderTable(dir), /\| routing \(stale\) \| x \| 1\.00 ms \|[^\n]*\| informational \| – \|/)
})

t.test('a figure with a goal says whether it is met; an informational one cannot be met', async (t) => {
  t.throws(() => figure({ figure: 'x', value: 1, unit: 'ms', baseline: null, baseline_value: null, goal: 'informational', met: true }), /no goal/)
  t.throws(() => figure({ figure: 'x', value: 1, unit: 'ms', baseline: null, baseline_value: null, goal: '<= 2', met: null }), /must say/)
  t.match(figure({ figure: 'x', value: 3, unit: 'ms', baseline: 'b', baseline_value: 2, goal: '<= 2', met: false }), { ratio: 1.5, met: false })
})
