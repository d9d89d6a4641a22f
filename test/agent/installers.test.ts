import t from 'tap'
import { execFile, execFileSync } from 'node:child_process'
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { LinuxInstaller } from '../../runtime/agent/linux-installer.js'
import { SimInstaller } from '../../runtime/agent/sim-installer.js'
import { upgradeScript } from '../../runtime/flash/upgrade-script.js'
import { INSTALL_DIR, UPGRADE_DIR } from '../../runtime/shared/install-dir.js'

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

/**
 * What systemd does on a flashed board: the path unit sees the agent's request and starts the
 * root service, which runs the script flash wrote (here under a scratch WISP_ROOT, as this user).
 */
const upgradeService = (root: string): { stop: () => void, runs: () => number } => {
  const script = join(root, 'upgrade.sh')
  writeFileSync(script, upgradeScript())
  const request = join(root, UPGRADE_DIR, 'request')
  let busy = false
  let runs = 0
  const timer = setInterval(() => {
    if (busy || !existsSync(request)) return
    busy = true
    runs++
    execFile('sh', [script], { env: { PATH: process.env.PATH, WISP_ROOT: root, WISP_USER: userInfo().username }, timeout: 60_000 }, () => { busy = false })
  }, 20)
  return { stop: () => clearInterval(timer), runs: () => runs }
}

t.test('linux installer: asks the root upgrade service, which installs beside the flashed folder, switches the symlink, rolls back to it', { timeout: 90_000 }, async (t) => {
  const scratch = join(dir, 'board')
  const root = join(scratch, INSTALL_DIR)
  mkdirSync(root, { recursive: true })
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'wisp-fake', version: '1.0.0' }))
  const svc = upgradeService(scratch)
  t.teardown(svc.stop)
  const inst = new LinuxInstaller(join(scratch, UPGRADE_DIR), { pollMs: 20, timeoutMs: 60_000 })
  await inst.install('2.0.0', packed('2.0.0'))
  t.ok(lstatSync(root).isSymbolicLink(), 'the root is now a symlink')
  t.equal(versionAt(root), '2.0.0')
  t.equal(versionAt(join(`${root}.versions`, 'flashed')), '1.0.0', 'the flashed install is kept')
  t.equal(statSync(join(`${root}.versions`, '2.0.0', 'package.json')).uid, 0, 'the new install belongs to root, not the agent')

  await t.rejects(inst.install('3.0.0', join(dir, 'missing.tgz')), { code: 'WISP_BAD_CONFIG', message: /install of wisp 3\.0\.0 failed: no package at / })
  t.equal(versionAt(root), '2.0.0', 'a failed install changes nothing')
  t.notOk(readdirSync(`${root}.versions`).some((f) => f.endsWith('.partial')), 'and leaves no partial folder')
  const before = svc.runs()
  await t.rejects(inst.install('3.0.0', undefined), { code: 'WISP_BAD_CONFIG', message: /needs a package/ })
  await t.rejects(inst.install('../../etc', packed('2.0.0')), { code: 'WISP_BAD_CONFIG', message: /bad version name/ })
  await t.rejects(inst.install('4.0.0', 'relative/x.tgz'), { code: 'WISP_BAD_CONFIG', message: /absolute path or an http/ })
  t.equal(svc.runs(), before, 'a request the agent can tell is bad never reaches the service')

  t.equal(await inst.rollback(), true)
  t.equal(versionAt(root), '1.0.0', 'back on the flashed version')
  t.equal(await inst.rollback(), false, 'nothing further back')
  t.ok(existsSync(join(`${root}.versions`, '2.0.0')))
})

t.test('the upgrade script itself refuses a forged request: bad names, reserved names, relative packages', { timeout: 60_000 }, async (t) => {
  const scratch = join(dir, 'forged')
  mkdirSync(join(scratch, UPGRADE_DIR), { recursive: true })
  const script = join(scratch, 'upgrade.sh')
  writeFileSync(script, upgradeScript())
  const ask = (body: string): string => {
    writeFileSync(join(scratch, UPGRADE_DIR, 'request'), body)
    execFileSync('sh', [script], { env: { PATH: process.env.PATH, WISP_ROOT: scratch, WISP_USER: userInfo().username }, stdio: 'ignore' })
    return readFileSync(join(scratch, UPGRADE_DIR, 'result'), 'utf8')
  }
  t.match(ask('id=0123456789abcdef\nop=install\nversion=../../etc\npackage=/x.tgz\n'), /result=error: bad version name/)
  t.match(ask('id=0123456789abcdef\nop=install\nversion=previous\npackage=/x.tgz\n'), /result=error: version name previous is reserved/)
  t.match(ask('id=0123456789abcdef\nop=install\nversion=5.0.0\npackage=x.tgz\n'), /result=error: the package must be an absolute path/)
  t.match(ask('id=0123456789abcdef\nop=chmod\n'), /result=error: unknown op/)
  t.notOk(existsSync(join(scratch, INSTALL_DIR)), 'nothing was installed')
})
