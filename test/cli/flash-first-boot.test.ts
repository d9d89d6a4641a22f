import t from 'tap'
import { execFile } from 'node:child_process'
import { cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { flash } from '../../runtime/flash/flash.js'
import { fakePackage, fakePrebuilt } from '../helpers/flash-bundle.js'

// The first-boot script, as cloud-init would run it, on a scratch root (WISP_ROOT) with the
// test's own account standing in for the wisp user: the steps that handle secrets and install
// the package run for real; those that need a real board (accounts, Node download, systemd) do not.

const me = userInfo()

const made: string[] = []
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'wisp-first-boot-test-'))
  made.push(d)
  return d
}
t.teardown(() => { for (const d of made) rmSync(d, { recursive: true, force: true }) })

const filesUnder = (dir: string): string[] => readdirSync(dir, { recursive: true }).map(String).filter((f) => statSync(join(dir, f)).isFile())

interface Run { code: number, out: string }
const firstBoot = (root: string, script: string, steps: string[]): Promise<Run> => new Promise((resolve) => {
  execFile('sh', [script, ...steps], { env: { PATH: process.env.PATH, WISP_ROOT: root, WISP_USER: me.username }, timeout: 60_000 }, (err, stdout, stderr) => {
    resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out: stdout + stderr })
  })
})

t.test('first boot moves the secrets to /etc/wisp, erases them from the boot partition, installs the package', async (t) => {
  // The user's side: flash into a folder, copy it onto the boot partition.
  const out = join(tmp(), 'card')
  const mqttPassword = 'mqtt-secret-0123456789'
  const wifiPassword = 'wifi secret passphrase'
  const r = await flash({
    profile: 'banana-pi-m2-zero', id: 'b7', broker: 'mqtts://gateway.local:8883', out, package: fakePackage(tmp()), prebuilt: fakePrebuilt(tmp(), 40, 1),
    username: 'b7', password: mqttPassword, wifiSsid: 'edge lab', wifiPassword
  }, { progress: () => {} })
  const root = tmp()
  const boot = join(root, 'boot/firmware')
  mkdirSync(boot, { recursive: true })
  cpSync(out, boot, { recursive: true })
  const configText = readFileSync(join(boot, 'wisp/board.json'), 'utf8')
  const networkText = readFileSync(join(boot, 'network-config'), 'utf8')
  const hash = r.gatewayUser.b7?.password_hash ?? ''
  t.ok(configText.includes(mqttPassword) && networkText.includes(wifiPassword), 'the card carries the secrets before first boot')

  // cloud-init's part: write_files, here under the scratch root.
  const ud = parse(readFileSync(join(boot, 'user-data'), 'utf8')) as { write_files: Array<{ path: string, content: string }> }
  for (const f of ud.write_files) {
    mkdirSync(join(root, f.path, '..'), { recursive: true })
    writeFileSync(join(root, f.path), f.content)
  }
  const script = join(root, 'usr/local/lib/wisp/first-boot.sh')
  // Second names for the secret files: they show whether the bytes were overwritten, not only unlinked.
  mkdirSync(join(boot, 'witness'))
  linkSync(join(boot, 'wisp/board.json'), join(boot, 'witness/board.json'))
  linkSync(join(boot, 'network-config'), join(boot, 'witness/network-config'))

  const run = await firstBoot(root, script, ['secrets', 'install'])
  t.equal(run.code, 0, run.out)
  t.match(run.out, /moving the board config \(MQTT password\) to \/etc\/wisp\/board\.json/)

  const config = join(root, 'etc/wisp/board.json')
  t.equal(readFileSync(config, 'utf8'), configText, 'the config, whole, in /etc/wisp')
  t.equal(statSync(config).mode & 0o777, 0o600)
  t.equal(statSync(config).uid, me.uid, 'owned by the service user')
  t.equal(statSync(join(root, 'etc/wisp')).mode & 0o777, 0o750)
  t.equal(readFileSync(join(root, 'etc/wisp/network-config'), 'utf8'), networkText)
  t.equal(statSync(join(root, 'etc/wisp/network-config')).mode & 0o777, 0o600)
  t.equal(readFileSync(join(root, 'etc/cloud/cloud.cfg.d/99-wisp-network.cfg'), 'utf8'), 'network: {config: disabled}\n', 'cloud-init keeps the network it rendered')

  for (const f of ['wisp/board.json', 'network-config', 'gateway-user.json']) t.notOk(existsSync(join(boot, f)), `${f} is gone from the boot partition`)
  for (const f of ['witness/board.json', 'witness/network-config']) {
    const bytes = readFileSync(join(boot, f))
    t.ok(bytes.length > 0 && bytes.every((b) => b === 0), `${f}: the old blocks hold zeros`)
  }
  for (const f of filesUnder(boot)) {
    const bytes = readFileSync(join(boot, f))
    for (const secret of [mqttPassword, wifiPassword, hash]) t.notOk(bytes.includes(secret), `${f} holds no secret`)
  }
  t.ok(existsSync(join(boot, 'wisp/wisp-0.1.0.tgz')) && existsSync(join(boot, 'user-data')) && existsSync(join(boot, 'meta-data')), 'the rest of the bundle stays')

  t.ok(existsSync(join(root, 'opt/wisp/package.json')) && existsSync(join(root, 'opt/wisp/bin/wisp.js')), 'the package in /opt/wisp')
  t.ok(existsSync(join(root, 'opt/wisp/node_modules/isolated-vm/out/isolated_vm.node')), 'with the prebuilt node_modules')
  t.notOk(existsSync(join(root, 'opt/wisp.new')) || existsSync(join(root, 'opt/wisp.old')))

  // Safe to re-run (cloud-init may, after a failure): the config in /etc/wisp is kept.
  const again = await firstBoot(root, script, ['secrets', 'install'])
  t.equal(again.code, 0, again.out)
  t.equal(readFileSync(config, 'utf8'), configText)

  // With neither copy, the agent could not start: first boot says so and stops.
  rmSync(config)
  const none = await firstBoot(root, script, ['secrets'])
  t.equal(none.code, 1)
  t.match(none.out, /no board config in .*boot\/firmware\/wisp or \/etc\/wisp\/board\.json/)
  const unknown = await firstBoot(root, script, ['reboot'])
  t.equal(unknown.code, 2)
  t.match(unknown.out, /unknown step reboot/)
})

t.test('first boot stops before touching anything when the card has no bundle', async (t) => {
  const root = tmp()
  const out = join(tmp(), 'card')
  await flash({ profile: 'raspberry-pi-4b', id: 'pi4', broker: 'mqtts://gw:8883', out, package: fakePackage(tmp()) }, { progress: () => {} })
  const ud = parse(readFileSync(join(out, 'user-data'), 'utf8')) as { write_files: Array<{ path: string, content: string }> }
  const script = join(root, 'first-boot.sh')
  writeFileSync(script, ud.write_files.find((f) => f.path.endsWith('first-boot.sh'))?.content ?? '')
  const run = await firstBoot(root, script, [])
  t.equal(run.code, 1)
  t.match(run.out, /no wisp bundle \(wisp-0\.1\.0\.tgz\) on the boot partition/)
  t.same(readdirSync(root), ['first-boot.sh'], 'nothing written')
})
