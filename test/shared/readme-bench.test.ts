import t from 'tap'
import { readFileSync } from 'node:fs'
import { readmeSection, renderTable } from '../bench/table.js'

t.test('the README benchmark table shows exactly the committed bench/results figures', async (t) => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  t.equal(readmeSection(readme), renderTable(), 'run `npm run bench:table` after a benchmark')
})
