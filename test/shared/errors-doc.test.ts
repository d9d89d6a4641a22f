import t from 'tap'
import { readFileSync } from 'node:fs'
import { ERROR_CODES } from '../../runtime/shared/errors.js'

t.test('the README error table and runtime/shared/errors.ts never drift apart', async (t) => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const block = readme.split('<!-- errors:start')[1]?.split('<!-- errors:end')[0] ?? ''
  const rows = [...block.matchAll(/^\| `(WISP_[A-Z_]+)` \| (.+) \|$/gm)].map((m) => [m[1], m[2]])
  t.same(Object.fromEntries(rows), ERROR_CODES)
})
