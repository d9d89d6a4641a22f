import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { distProblem, writeStamp } from '../../runtime/shared/build-stamp.js'
import { WISP_BIN } from '../helpers/wisp-cli.js'

const tree = (t: Test, files: Record<string, string>): string => {
  const root = mkdtempSync(join(tmpdir(), 'wisp-stamp-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  for (const [f, body] of Object.entries(files)) { mkdirSync(dirname(join(root, f)), { recursive: true }); writeFileSync(join(root, f), body) }
  mkdirSync(join(root, 'dist'), { recursive: true })
  return root
}
const later = (file: string): void => { const s = (Date.now() + 5000) / 1000; utimesSync(file, s, s) }

t.test('a checkout: dist/ runs only while its stamp matches the sources', async (t) => {
  const root = tree(t, { 'runtime/cli/main.ts': 'export {}\n', 'boards/a.ts': 'export const a = 1\n', 'tsconfig.json': '{}' })
  t.match(distProblem(root), /dist\/build-stamp\.json is missing: run `npm run build`/)
  writeStamp(root, Date.now())
  t.equal(distProblem(root), undefined, 'fresh')
  later(join(root, 'boards/a.ts'))
  t.equal(distProblem(root), undefined, 'touched, same contents: still fresh')
  writeFileSync(join(root, 'boards/a.ts'), 'export const a = 2\n')
  later(join(root, 'boards/a.ts'))
  t.match(distProblem(root), /older than the sources: run `npm run build`/, 'an edit makes it stale')
  writeStamp(root, Date.now())
  writeFileSync(join(root, 'runtime/new.ts'), 'export {}\n')
  t.match(distProblem(root), /older than the sources/, 'a new source file makes it stale')
  unlinkSync(join(root, 'runtime/new.ts'))
  t.equal(distProblem(root), undefined)
  writeFileSync(join(root, 'boards/a.isolate.ts'), 'export {}\n')
  t.match(distProblem(root), /older than the sources/, 'the isolate-side source counts too')
})

t.test('an installed package (no sources) needs only the stamp', async (t) => {
  const root = tree(t, {})
  t.match(distProblem(root), /missing/)
  writeStamp(root, Date.now())
  t.equal(distProblem(root), undefined)
})

t.test('bin/wisp.js refuses a missing or stale dist/ with WISP_BAD_CONFIG and how to fix it', async (t) => {
  const root = tree(t, { 'runtime/cli/main.ts': 'export {}\n' })
  cpSync(WISP_BIN, join(root, 'bin/wisp.js'))
  const missing = spawnSync(process.execPath, [join(root, 'bin/wisp.js'), '--help'], { encoding: 'utf8' })
  t.equal(missing.status, 2)
  t.match(missing.stderr, /^WISP_BAD_CONFIG: dist\/ is missing: run `npm run build`/)
  // The real stamp module and a stamp of other sources: stale.
  cpSync(join(dirname(WISP_BIN), '../dist/runtime/shared'), join(root, 'dist/runtime/shared'), { recursive: true })
  mkdirSync(join(root, 'dist/runtime/cli'), { recursive: true })
  writeFileSync(join(root, 'dist/runtime/cli/main.js'), 'console.log("old code ran")\n')
  writeStamp(root, Date.now())
  writeFileSync(join(root, 'runtime/cli/main.ts'), 'export const changed = true\n')
  later(join(root, 'runtime/cli/main.ts'))
  const stale = spawnSync(process.execPath, [join(root, 'bin/wisp.js'), '--help'], { encoding: 'utf8' })
  t.equal(stale.status, 2)
  t.match(stale.stderr, /WISP_BAD_CONFIG: dist\/ is older than the sources: run `npm run build`/)
  t.notMatch(stale.stdout, /old code ran/)
  writeStamp(root, Date.now())
  const fresh = spawnSync(process.execPath, [join(root, 'bin/wisp.js'), '--help'], { encoding: 'utf8' })
  t.equal(fresh.status, 0, fresh.stderr)
  t.match(fresh.stdout, /old code ran/, 'a fresh dist/ runs')
})
