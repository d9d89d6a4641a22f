import t from 'tap'
import { execFileSync } from 'node:child_process'
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LinuxInstaller } from '../../runtime/agent/linux-installer.js'
import { SimInstaller } from '../../runtime/agent/sim-installer.js'

const dir = mkdtempSync(join(tmpdir(), 'wisp-installers-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const versionAt = (root: string): string => (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version

/** A packed package as `npm pack` makes it (a `package/` folder), with a lockfile and no dependencies. */
const packed = (version: string): string => {
  const src = join(dir, `src-${version}`, 'package')
  mkdirSync(src, { recursive: true })
  writeFileSync(join(src, 'package.json'), JSON.stringify({ name: 'wisp-fake', version }))
  writeFileSync(join(src, 'package-lock.json'), JSON.stringify({ name: 'wisp-fake', version, lockfileVersion: 3, requires: true, packages: { '': { name: 'wisp-fake', version } } }))
  const file = join(dir, `wisp-fake-${version}.tgz`)
  execFileSync('tar', ['-czf', file, '-C', join(dir, `src-${version}`), 'package'])
  return file
}

t.test('sim installer: records the version, keeps the previous one for a rollback, fails on demand', async (t) => {
  const data = join(dir, 'sim')
  mkdirSync(data)
  const sim = new SimInstaller(data, '1.0.0')
  t.equal(sim.version(), '1.0.0', 'the package version before any upgrade')
  await sim.install('2.0.0')
  t.equal(sim.version(), '2.0.0')
  t.equal(new SimInstaller(data, '1.0.0').version(), '2.0.0', 'a restarted board runs the installed version')
  t.equal(await sim.rollback(), true)
  t.equal(sim.version(), '1.0.0', 'rolled back to the package version')
  t.equal(await sim.rollback(), false, 'nothing further back')
  writeFileSync(join(data, 'upgrade-fails'), '')
  await t.rejects(sim.install('3.0.0'), { code: 'WISP_BAD_CONFIG' })
  t.equal(sim.version(), '1.0.0', 'a failed install changes nothing')
})

t.test('linux installer: unpacks and installs beside the flashed folder, switches the symlink, rolls back to it', { timeout: 60_000 }, async (t) => {
  const root = join(dir, 'opt', 'wisp')
  mkdirSync(root, { recursive: true })
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'wisp-fake', version: '1.0.0' }))
  const inst = new LinuxInstaller(root)
  await inst.install('2.0.0', packed('2.0.0'))
  t.ok(lstatSync(root).isSymbolicLink(), 'the root is now a symlink')
  t.equal(versionAt(root), '2.0.0')
  t.equal(versionAt(join(`${root}.versions`, 'flashed')), '1.0.0', 'the flashed install is kept')

  await t.rejects(inst.install('3.0.0', join(dir, 'missing.tgz')), { code: 'WISP_BAD_CONFIG', message: /install of wisp 3\.0\.0 failed/ })
  t.equal(versionAt(root), '2.0.0', 'a failed install changes nothing')
  t.notOk(readdirSync(`${root}.versions`).some((f) => f.endsWith('.partial')), 'and leaves no partial folder')
  await t.rejects(inst.install('3.0.0', undefined), { code: 'WISP_BAD_CONFIG', message: /needs a package/ })

  t.equal(await inst.rollback(), true)
  t.equal(versionAt(root), '1.0.0', 'back on the flashed version')
  t.equal(await inst.rollback(), false, 'nothing further back')
  t.ok(existsSync(join(`${root}.versions`, '2.0.0')))
})
