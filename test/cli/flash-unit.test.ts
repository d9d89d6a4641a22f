import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runInNewContext } from 'node:vm'
import { getProfile } from '../../boards/index.js'
import { BoardConfigSchema } from '../../boards/schema.js'
import { polkitPkla, polkitRules } from '../../runtime/flash/permissions.js'
import { systemdUnit } from '../../runtime/flash/systemd.js'

const config = BoardConfigSchema.parse({ id: 'b7', profile: 'banana-pi-m2-zero', broker: 'mqtts://gw:8883', data_dir: '/srv/wisp-data' })
const unitText = systemdUnit(config, getProfile('banana-pi-m2-zero'))

/** [Service] key → values (systemd.syntax(7)); empty assignments kept, since they reset a list. */
const service = (text: string): Record<string, string[]> => {
  const out: Record<string, string[]> = {}
  let section = ''
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const s = /^\[(.+)\]$/.exec(line)
    if (s !== null) { section = s[1] as string; continue }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line)
    if (kv === null) throw new Error(`bad unit line: ${raw}`)
    if (section === 'Service') (out[kv[1] as string] ??= []).push(kv[2] as string)
  }
  return out
}

t.test('the agent runs unprivileged, in a read-only system, with I2C and GPIO only', async (t) => {
  const s = service(unitText)
  const one = (k: string): string | undefined => s[k]?.length === 1 ? s[k]?.[0] : undefined
  t.equal(one('User'), 'wisp')
  t.equal(one('Group'), 'wisp')
  t.same(one('SupplementaryGroups')?.split(' '), ['gpio', 'i2c'])
  for (const k of ['NoNewPrivileges', 'ProtectHome', 'PrivateTmp', 'RestrictSUIDSGID', 'ProtectKernelModules', 'ProtectControlGroups', 'RestrictNamespaces', 'LockPersonality']) t.equal(one(k), 'true', k)
  t.equal(one('ProtectSystem'), 'strict')
  t.equal(one('ReadWritePaths'), '-/srv/wisp-data', 'the data folder is the one writable place besides the state dir')
  t.equal(one('CapabilityBoundingSet'), '', 'no capabilities')
  t.equal(one('AmbientCapabilities'), '')
  t.equal(one('DevicePolicy'), 'closed')
  t.same(s.DeviceAllow, ['char-i2c rw', 'char-gpiochip rw'])
  t.same(s.SystemCallFilter, ['@system-service', '~@privileged @resources'])
  t.equal(one('SystemCallErrorNumber'), 'EPERM')
  t.same(one('RestrictAddressFamilies')?.split(' ').sort(), ['AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_UNIX'])
  t.equal(s.MemoryDenyWriteExecute, undefined, 'V8 compiles at run time')
  t.equal(s.PrivateDevices, undefined, 'PrivateDevices would hide /dev/i2c-*')
})

t.test('systemd accepts every line of the unit', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-unit-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'wisp-board.service')
  writeFileSync(file, unitText)
  const r = await new Promise<{ missing: boolean, stderr: string }>((resolve) => {
    execFile('systemd-analyze', ['verify', '--man=no', file], { timeout: 60_000 }, (err, _stdout, stderr) => resolve({ missing: err?.code === 'ENOENT', stderr }))
  })
  if (r.missing) { t.comment('systemd-analyze is not installed; unit syntax not checked'); return }
  // The one expected complaint: this machine has no /usr/local/bin/node of the board's.
  const complaints = r.stderr.split('\n').filter((l) => l.trim() !== '' && !/\/usr\/local\/bin\/node is not executable/.test(l))
  t.same(complaints, [], 'no unknown key, group or value')
})

t.test('systemd rates the unit\'s exposure low', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-unit-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'wisp-board.service')
  writeFileSync(file, unitText)
  // systemd 250 and later rate a unit file offline (systemd-analyze(1), "security").
  const r = await new Promise<{ supported: boolean, stdout: string }>((resolve) => {
    execFile('systemd-analyze', ['security', '--offline=true', '--no-pager', file], { timeout: 60_000 }, (err, stdout) =>
      resolve({ supported: err?.code !== 'ENOENT' && /Overall exposure level/.test(stdout), stdout }))
  })
  if (!r.supported) { t.comment('no systemd-analyze security --offline here; exposure not rated'); return }
  const level = Number(/Overall exposure level for [^:]+: ([\d.]+)/.exec(r.stdout)?.[1])
  t.comment(`exposure ${level} (0 = locked down, 10 = unconfined)`)
  t.ok(level <= 2, `exposure ${level} at most 2.0 ("OK"; a unit with no confinement rates 9.6)`)
})

t.test('polkit lets the wisp user power off, and nothing else', async (t) => {
  type Rule = (action: { id: string }, subject: { user: string }) => string | undefined
  const rules: Rule[] = []
  runInNewContext(polkitRules(), { polkit: { addRule: (r: Rule) => rules.push(r), Result: { YES: 'yes', NO: 'no' } } })
  t.equal(rules.length, 1)
  const rule = rules[0] as Rule
  t.equal(rule({ id: 'org.freedesktop.login1.power-off' }, { user: 'wisp' }), 'yes')
  t.equal(rule({ id: 'org.freedesktop.login1.power-off-multiple-sessions' }, { user: 'wisp' }), 'yes')
  t.equal(rule({ id: 'org.freedesktop.login1.power-off' }, { user: 'pi' }), undefined, 'another user: polkit decides as before')
  for (const id of ['org.freedesktop.login1.reboot', 'org.freedesktop.systemd1.manage-units', 'org.freedesktop.login1.power-offx']) {
    t.equal(rule({ id }, { user: 'wisp' }), undefined, `${id}: not granted`)
  }
  t.match(polkitPkla(), /^Identity=unix-user:wisp$/m)
  t.match(polkitPkla(), /^Action=org\.freedesktop\.login1\.power-off;org\.freedesktop\.login1\.power-off-multiple-sessions$/m)
})
