import t from 'tap'
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { testCluster } from '../helpers/cluster.js'
import { TestClient } from '../helpers/mqtt.js'
import { runWisp as wisp } from '../helpers/wisp-cli.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/bundle/', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'wisp-bundle-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
// The function folder as `npm install` leaves it (no network here: the packages are fixtures).
const fn = join(dir, 'fn')
cpSync(join(FIXTURES, 'fn'), fn, { recursive: true })
for (const p of ['tiny-pad', 'tiny-cjs']) cpSync(join(FIXTURES, 'deps', p), join(fn, 'node_modules', p), { recursive: true })
const empty = join(dir, 'none')
mkdirSync(empty)

const c = await testCluster({ boards: 1, functionsDir: empty })
t.teardown(c.close)
const broker = ['--broker', c.url]

t.test('wisp deploy <fn> <folder> bundles the module and its npm packages; the board runs the bundle', async (t) => {
  const r = await wisp(['deploy', 'padder', fn, ...broker])
  t.equal(r.code, 0, r.err)
  t.match(r.out, /^deployed padder version 1 /)
  const client = await TestClient.connect(c.url)
  t.teardown(() => client.close())
  await client.sub('wisp/result/t/#')
  await client.pub('wisp/invoke/padder/t/r1', '{"text":"edge"}')
  await client.waitFor(() => client.on('wisp/result/t/padder/r1').length > 0, 15_000)
  t.match(client.on('wisp/result/t/padder/r1')[0]?.json, { ok: true, result: { padded: '....edge|', loud: 'EDGE!' } })
})

t.test('a Node built-in import is WISP_BAD_CODE naming the import and the file; nothing is deployed', async (t) => {
  const r = await wisp(['deploy', 'reader', join(FIXTURES, 'builtin'), ...broker])
  t.equal(r.code, 1)
  t.match(r.err, /WISP_BAD_CODE: reader: imports the Node built-in module "node:fs" \(imported by helper\.js\)/)
  t.equal(c.cluster.gateway.registry.get('reader'), undefined)
})

t.test('top-level await is a clear WISP_BAD_CODE, in a folder or a file', async (t) => {
  const r = await wisp(['deploy', 'tla', join(FIXTURES, 'tla'), ...broker])
  t.equal(r.code, 1)
  t.match(r.err, /WISP_BAD_CODE: tla: Top-level await is not supported in a function module .*init/)
  const f = join(dir, 'tla.js')
  writeFileSync(f, 'const x = await 1\nexport async function handler () { return x }\n')
  const r2 = await wisp(['deploy', 'tla', f, ...broker])
  t.match(r2.err, /WISP_BAD_CODE: tla: Top-level await is not supported/)
})

t.test('a folder without an entry module, or an unresolvable import, says so', async (t) => {
  const none = join(dir, 'noentry')
  mkdirSync(none)
  const r = await wisp(['deploy', 'x', none, ...broker])
  t.equal(r.code, 2)
  t.match(r.err, /WISP_BAD_CONFIG: .*has no entry module/)
  const missing = join(dir, 'missing')
  mkdirSync(missing)
  writeFileSync(join(missing, 'index.js'), 'import left from "left-pad"\nexport async function handler () { return left("a", 3) }\n')
  const r2 = await wisp(['deploy', 'x', missing, ...broker])
  t.equal(r2.code, 1)
  t.match(r2.err, /WISP_BAD_CODE: x: Could not resolve "left-pad"/)
})
