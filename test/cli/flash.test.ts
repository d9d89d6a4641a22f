import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { BoardConfigSchema } from '../../boards/schema.js'
import { flash, listFiles } from '../../runtime/flash/flash.js'
import { isPasswordHash, verifyPassword } from '../../runtime/shared/password.js'
import { fakePackage, fakePrebuilt } from '../helpers/flash-bundle.js'
import type { FlashInput } from '../../runtime/flash/options.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const run = promisify(execFile)
const quiet = { progress: () => {} }

interface WriteFile { path: string, content: string, permissions?: string }
interface UserData { hostname: string, packages: string[], swap?: { size: number }, write_files: WriteFile[], runcmd: string[][] }

/** Parses a unit file into section → key → values (systemd.syntax(7)). */
const parseUnit = (text: string): Record<string, Record<string, string[]>> => {
  const out: Record<string, Record<string, string[]>> = {}
  let section = ''
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    const s = /^\[(.+)\]$/.exec(line)
    if (s !== null) { section = s[1] as string; out[section] ??= {}; continue }
    const kv = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line)
    if (kv === null || section === '') throw new Error(`bad unit line: ${raw}`)
    const sec = out[section] as Record<string, string[]>
    ;(sec[kv[1] as string] ??= []).push(kv[2] as string)
  }
  return out
}

const made: string[] = []
const tmp = (_t?: unknown): string => {
  const d = mkdtempSync(join(tmpdir(), 'wisp-flash-test-'))
  made.push(d)
  return d
}
t.teardown(() => { for (const d of made) rmSync(d, { recursive: true, force: true }) })

t.test('a flash writes a complete, valid bundle', async (t) => {
  const out = join(tmp(), 'card')
  const lines: string[] = []
  const input: FlashInput = {
    profile: 'banana-pi-m2-zero', id: 'b7', broker: 'mqtt://gateway.local:1883', insecure: true, out,
    username: 'b7', password: 's3cret-pass', wifiSsid: 'edge lab', wifiPassword: 'correct horse', wifiCountry: 'GB',
    ina219Bus: '1', ina219Address: '0x41', shuntOhm: '0.1', maxCurrent: '2', relayLine: '17', relayActiveLow: true
  }
  const r = await flash(input, { progress: (l) => lines.push(l) })
  const bundle = ['wisp/board.json', 'wisp/package-lock.json', 'wisp/wisp-0.1.0.tgz', 'wisp/wisp-board.service']
  t.same(listFiles(out), ['gateway-user.json', 'meta-data', 'network-config', 'user-data', 'wisp', ...bundle])
  t.same(r.files, ['gateway-user.json', 'meta-data', 'network-config', 'user-data', ...bundle])
  t.ok(lines.some((l) => l.includes('packing wisp (npm pack)')), 'packs the project')
  t.ok(lines.some((l) => l.startsWith('[1/6]')) && lines.some((l) => l.startsWith('[6/6] done')), 'progress for every step')

  const config = BoardConfigSchema.parse(JSON.parse(readFileSync(join(out, 'wisp/board.json'), 'utf8')))
  t.match(config, { id: 'b7', profile: 'banana-pi-m2-zero', broker: 'mqtt://gateway.local:1883', username: 'b7', password: 's3cret-pass', data_dir: '/var/lib/wisp/board' })
  t.equal(config.http_host, '127.0.0.1', 'the board page stays on the board unless asked')
  t.same(config.ina219, { bus: 1, address: 0x41, shunt_ohm: 0.1, max_current_a: 2 })
  t.same(config.relay, { line: 17, active_low: true })
  t.equal(statSync(join(out, 'wisp/board.json')).mode & 0o077, 0, 'credentials are private to root')
  t.same(readFileSync(join(out, 'wisp/package-lock.json')), readFileSync(join(ROOT, 'package-lock.json')), 'the lockfile npm ci installs from')

  const text = readFileSync(join(out, 'user-data'), 'utf8')
  t.ok(text.startsWith('#cloud-config\n'), 'user-data starts with the #cloud-config header')
  for (const secret of ['s3cret-pass', 'correct horse']) t.notOk(text.includes(secret), `user-data (which cloud-init keeps) has no "${secret}"`)
  const ud = parse(text) as UserData
  t.equal(ud.hostname, 'wisp-b7')
  t.same(ud.swap?.size, 1024 ** 3, '512 MB ARMv7: swap before compiling isolated-vm')
  t.ok(ud.packages.includes('build-essential') && ud.packages.includes('python3'), 'tool chain for the native modules')
  t.ok(ud.packages.includes('i2c-tools'))
  const file = (p: string): WriteFile | undefined => ud.write_files.find((f) => f.path === p)
  t.equal(file('/etc/wisp/board.json'), undefined, 'the config travels in the bundle, not in user-data')
  t.equal(file('/etc/systemd/system/wisp-board.service')?.content, readFileSync(join(out, 'wisp/wisp-board.service'), 'utf8'))
  t.match(file('/etc/polkit-1/rules.d/50-wisp-power-off.rules')?.content, /subject\.user === "wisp"[\s\S]*org\.freedesktop\.login1\.power-off/)
  t.match(file('/etc/polkit-1/localauthority/50-local.d/50-wisp-power-off.pkla')?.content, /Identity=unix-user:wisp\nAction=org\.freedesktop\.login1\.power-off;/)
  t.match(file('/etc/udev/rules.d/60-wisp-devices.rules')?.content, /SUBSYSTEM=="i2c-dev", GROUP="i2c", MODE="0660"/)
  const script = file('/usr/local/lib/wisp/first-boot.sh')?.content ?? ''
  t.same(ud.runcmd, [['/usr/local/lib/wisp/first-boot.sh']])
  t.match(script, /^#!\/bin\/sh\n/)
  t.match(script, /node-v20\.\d+\.\d+-linux-armv7l\.tar\.xz/, 'Node.js 20 for armv7l')
  t.match(script, /SHASUMS256/, 'the download is checked')
  t.match(script, /wisp-0\.1\.0\.tgz/)
  t.match(script, /npm ci --omit=dev/, 'installs exactly the lockfile')
  t.notMatch(script, /npm install/)
  t.match(script, /systemctl enable wisp-board\.service/)
  await t.resolves(run('sh', ['-n', '-c', script]), 'the first-boot script is valid sh')

  const unit = parseUnit(readFileSync(join(out, 'wisp/wisp-board.service'), 'utf8'))
  t.same(unit.Service?.ExecStart, ['/usr/local/bin/node --max-semi-space-size=1 /opt/wisp/bin/wisp.js board --config /etc/wisp/board.json'])
  t.same(unit.Service?.Restart, ['always'])
  t.same(unit.Unit?.After?.[0]?.split(' ').includes('network-online.target'), true)
  t.same(unit.Unit?.Wants, ['network-online.target'])
  t.same(unit.Install?.WantedBy, ['multi-user.target'])
  t.ok(unit.Unit?.Description?.[0]?.includes('b7'))

  const net = parse(readFileSync(join(out, 'network-config'), 'utf8')) as { network: { version: number, wifis: Record<string, { 'access-points': Record<string, { password: string }>, 'regulatory-domain': string }> } }
  t.equal(net.network.version, 2)
  t.same(net.network.wifis.wlan0?.['access-points']['edge lab'], { password: 'correct horse' })
  t.equal(net.network.wifis.wlan0?.['regulatory-domain'], 'GB')
  const meta = parse(readFileSync(join(out, 'meta-data'), 'utf8')) as Record<string, string>
  t.match(meta['instance-id'], /^wisp-b7-[0-9a-f]{12}$/)

  // The gateway's account for the board: the same on stdout (CLI) and in gateway-user.json.
  const account = JSON.parse(readFileSync(join(out, 'gateway-user.json'), 'utf8')) as Record<string, { password_hash: string, role: string }>
  t.same(account, r.gatewayUser)
  t.same(Object.keys(account), ['b7'])
  t.equal(account.b7?.role, 'board')
  t.ok(isPasswordHash(account.b7?.password_hash ?? ''), 'a salted scrypt hash')
  t.ok(await verifyPassword('s3cret-pass', account.b7?.password_hash ?? ''), 'the hash checks the board\'s password')
  t.notOk(readFileSync(join(out, 'gateway-user.json'), 'utf8').includes('s3cret-pass'))

  // The tarball holds the runnable package.
  const { stdout } = await run('tar', ['-tzf', join(out, 'wisp/wisp-0.1.0.tgz')])
  for (const f of ['package/package.json', 'package/bin/wisp.js', 'package/dist/runtime/cli/main.js', 'package/dist/runtime/agent/sandbox.prelude.js', 'package/dist/build-stamp.json', 'package/runtime/status/pages/cluster.html']) t.ok(stdout.split('\n').includes(f), `package has ${f}`)
})

t.test('without --username/--password a board gets its id and a fresh random password', async (t) => {
  const tgz = fakePackage(tmp())
  const one = await flash({ profile: 'raspberry-pi-4b', id: 'pi9', broker: 'mqtts://gw.example:8883', out: tmp(), package: tgz }, quiet)
  const two = await flash({ profile: 'raspberry-pi-4b', id: 'pi9', broker: 'mqtts://gw.example:8883', out: tmp(), package: tgz }, quiet)
  const pw = one.plan.config.password ?? ''
  t.equal(one.plan.config.username, 'pi9')
  t.match(pw, /^[A-Za-z0-9_-]{32}$/, '192 random bits, base64url')
  t.not(pw, two.plan.config.password, 'every flash draws a new one')
  t.ok(await verifyPassword(pw, one.gatewayUser.pi9?.password_hash ?? ''))
  t.notOk(await verifyPassword(pw, two.gatewayUser.pi9?.password_hash ?? ''), 'each hash is of its own password')
  const boot = tmp()
  const r = await flash({ profile: 'raspberry-pi-4b', id: 'pi9', broker: 'mqtts://gw.example:8883', boot, package: tgz }, quiet)
  t.notOk(existsSync(join(boot, 'gateway-user.json')), '--boot leaves the account off the card')
  t.ok(r.gatewayUser.pi9 !== undefined)
})

t.test('a 64-bit board with plenty of memory needs no swap; no Wi-Fi means no network-config', async (t) => {
  const out = tmp()
  const tgz = fakePackage(tmp())
  await flash({ profile: 'raspberry-pi-4b', id: 'pi4', broker: 'mqtts://gw.example:8883', out, package: tgz }, quiet)
  const ud = parse(readFileSync(join(out, 'user-data'), 'utf8')) as UserData
  t.equal(ud.swap, undefined)
  t.match(ud.write_files.find((f) => f.path.endsWith('first-boot.sh'))?.content, /linux-arm64/)
  t.notOk(existsSync(join(out, 'network-config')))
  t.notOk(ud.packages.includes('i2c-tools'), 'no sensor, no i2c tools')
})

t.test('--prebuilt ships node_modules built for the board and skips the compile', async (t) => {
  const tgz = join(tmp(), 'wisp-0.1.0.tgz')
  writeFileSync(tgz, 'x')
  const arm32 = fakePrebuilt(tmp(), 40, 1)
  const out = tmp()
  const r = await flash({ profile: 'banana-pi-m2-zero', id: 'b8', broker: 'mqtts://gw:8883', out, package: tgz, prebuilt: arm32 }, quiet)
  t.ok(r.files.includes('wisp/prebuilt-node_modules.tgz'))
  const { stdout } = await run('tar', ['-tzf', join(out, 'wisp/prebuilt-node_modules.tgz')])
  t.ok(stdout.includes('node_modules/isolated-vm/out/isolated_vm.node'))
  const ud = parse(readFileSync(join(out, 'user-data'), 'utf8')) as UserData
  t.equal(ud.swap, undefined, 'nothing to compile, no swap')
  t.notOk(ud.packages.includes('build-essential'))
  const script = ud.write_files.find((f) => f.path.endsWith('first-boot.sh'))?.content ?? ''
  t.match(script, /prebuilt-node_modules\.tgz/)
  t.notMatch(script, /npm install/)

  const arm64Board = tmp()
  await t.rejects(flash({ profile: 'raspberry-pi-4b', id: 'b9', broker: 'mqtts://gw:8883', out: arm64Board, package: tgz, prebuilt: arm32 }, quiet),
    { code: 'WISP_BAD_CONFIG', message: /not built for 64-bit ARM/ })
  t.same(listFiles(arm64Board), [])
})

t.test('bad options give WISP_BAD_CONFIG and write nothing', async (t) => {
  const tgz = fakePackage(tmp())
  const base: FlashInput = { profile: 'banana-pi-m2-zero', id: 'b7', broker: 'mqtts://gateway.local:8883', package: tgz }
  const cases: Array<[string, Partial<FlashInput>, RegExp]> = [
    ['unknown profile', { profile: 'commodore-64' }, /unknown profile "commodore-64"/],
    ['not a URL', { broker: 'gateway.local' }, /--broker must be a URL/],
    ['wrong scheme', { broker: 'http://gateway.local' }, /mqtt, mqtts, ws or wss/],
    ['bad id', { id: 'B 7' }, /field "id"/],
    ['short Wi-Fi passphrase', { wifiSsid: 'lab', wifiPassword: 'short' }, /8-63/],
    ['passphrase without SSID', { wifiPassword: 'long enough' }, /need --wifi-ssid/],
    ['address out of range', { ina219Bus: '1', ina219Address: '0x70' }, /--ina219-address/],
    ['shunt without bus', { shuntOhm: '0.1' }, /need --ina219-bus/],
    ['password without user', { password: 'long enough' }, /--password needs --username/],
    ['short password', { username: 'b7', password: 'short' }, /--password must be at least 8 characters/],
    ['user name not the id', { username: 'gateway', password: 'long enough' }, /--username must be the board id \("b7"\)/],
    ['plain MQTT to another host', { broker: 'mqtt://gateway.local:1883' }, /unencrypted to gateway\.local; use mqtts:\/\/, or add --insecure/],
    ['plain WebSocket to another host', { broker: 'ws://10.0.0.2:8080' }, /use wss:\/\//],
    ['relative data dir', { dataDir: 'data' }, /--data-dir must be an absolute path/],
    ['data dir with ..', { dataDir: '/var/lib/../../etc' }, /--data-dir/],
    ['data dir with a space', { dataDir: '/var/lib/my data' }, /--data-dir/],
    ['page host not an address', { httpHost: 'example.com' }, /--http-host must be an IP address/],
    ['no such lockfile', { lockfile: '/nonexistent/package-lock.json' }, /no lockfile at/],
    ['lockfile of another package', { lockfile: join(ROOT, 'node_modules/tap/package.json') }, /lockfile .* is not what npm writes/],
    ['bad relay line', { relayLine: 'seven' }, /--relay-line/],
    ['node 18', { nodeVersion: '18.20.0' }, /Node\.js 20/],
    ['no such prebuilt', { prebuilt: '/nonexistent/wisp-prebuilt' }, /not a directory/],
    ['no such package', { package: '/nonexistent/wisp.tgz' }, /not a \.tgz/]
  ]
  for (const [name, over, message] of cases) {
    const out = join(tmp(), 'card')
    await t.rejects(flash({ ...base, out, ...over }, quiet), { code: 'WISP_BAD_CONFIG', message }, name)
    t.notOk(existsSync(out), `${name}: nothing written`)
  }
  await t.rejects(flash({ ...base }, quiet), { code: 'WISP_BAD_CONFIG', message: /exactly one of --out/ })

  // Loopback needs no TLS; --insecure is the user's word that the network is trusted.
  for (const broker of ['mqtt://127.0.0.1:1883', 'mqtt://localhost:1883', 'ws://[::1]:8080']) {
    t.equal((await flash({ ...base, broker, out: tmp() }, quiet)).plan.config.broker, broker, `${broker} is loopback`)
  }
  t.equal((await flash({ ...base, broker: 'mqtt://gateway.local:1883', insecure: true, out: tmp() }, quiet)).plan.config.broker, 'mqtt://gateway.local:1883')
  t.equal((await flash({ ...base, httpHost: '0.0.0.0', out: tmp() }, quiet)).plan.config.http_host, '0.0.0.0', 'the page on every interface when asked')

  // A lockfile out of step with the package: npm ci would refuse it on the board, so flash does now.
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dependencies: Record<string, string> }> }
  ;(lock.packages[''] as { dependencies: Record<string, string> }).dependencies.zod = '3.0.0'
  const stale = join(tmp(), 'package-lock.json')
  writeFileSync(stale, JSON.stringify(lock))
  const out = join(tmp(), 'card')
  await t.rejects(flash({ ...base, out, lockfile: stale }, quiet), { code: 'WISP_BAD_CONFIG', message: /does not match the dependencies of wisp@0\.1\.0/ })
  t.notOk(existsSync(out))

  const full = tmp()
  writeFileSync(join(full, 'notes.txt'), 'mine')
  await t.rejects(flash({ ...base, out: full }, quiet), { code: 'WISP_BAD_CONFIG', message: /not empty; use --force/ })
  t.same(listFiles(full), ['notes.txt'], 'a non-empty folder is left alone')
  await flash({ ...base, out: full, force: true }, quiet)
  t.ok(listFiles(full).includes('notes.txt') && listFiles(full).includes('user-data'), '--force writes beside what is there')
})

t.test('--boot writes into a mounted boot partition once, then needs --force', async (t) => {
  const tgz = fakePackage(tmp())
  const boot = tmp()
  writeFileSync(join(boot, 'config.txt'), 'dtparam=i2c_arm=on\n')
  const input: FlashInput = { profile: 'raspberry-pi-zero-2w', id: 'z1', broker: 'mqtts://gw:8883', boot, package: tgz }
  await flash(input, quiet)
  t.ok(existsSync(join(boot, 'user-data')) && existsSync(join(boot, 'wisp/board.json')))
  await t.rejects(flash(input, quiet), { code: 'WISP_BAD_CONFIG', message: /already holds a wisp bundle/ })
  await flash({ ...input, force: true, wifiSsid: 'lab', wifiPassword: 'long enough' }, quiet)
  t.ok(existsSync(join(boot, 'network-config')))
  await flash({ ...input, force: true }, quiet)
  t.notOk(existsSync(join(boot, 'network-config')), 'a re-flash without Wi-Fi drops the stale network-config')
  t.equal(readFileSync(join(boot, 'config.txt'), 'utf8'), 'dtparam=i2c_arm=on\n', 'the rest of the partition is untouched')
  await t.rejects(flash({ ...input, boot: join(boot, 'missing') }, quiet), { message: /does not exist/ })
})

t.test('the CLI command: progress on stderr, exit code 2 on a bad option', async (t) => {
  const script = `
    import { Command } from 'commander'
    import { registerFlash } from './runtime/cli/commands/flash.ts'
    const program = new Command().name('wisp')
    registerFlash(program)
    await program.parseAsync(process.argv.slice(1), { from: 'user' })`
  const cli = (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> => new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, '--', ...args], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr })
    })
  })
  const tgz = fakePackage(tmp())
  const out = join(tmp(), 'card')
  const bad = await cli(['flash', '--profile', 'nope', '--id', 'b7', '--broker', 'mqtt://gw:1883', '--out', out])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /wisp: WISP_BAD_CONFIG: unknown profile "nope"/)
  t.notOk(existsSync(out))
  const plain = await cli(['flash', '--profile', 'banana-pi-m2-zero', '--id', 'b7', '--broker', 'mqtt://gw:1883', '--out', out, '--package', tgz])
  t.equal(plain.code, 2)
  t.match(plain.stderr, /WISP_BAD_CONFIG: --broker mqtt:\/\/gw:1883 would send the board's password unencrypted/)
  t.notOk(existsSync(out))
  const good = await cli(['flash', '--profile', 'banana-pi-m2-zero', '--id', 'b7', '--broker', 'mqtt://gw:1883', '--insecure', '--out', out, '--package', tgz])
  t.equal(good.code, 0, good.stderr)
  t.match(good.stderr, /\[1\/6\] checking options[\s\S]*\[6\/6\] done/)
  t.ok(existsSync(join(out, 'user-data')))
  // stdout is the gateway's "users" entry and nothing else; the password itself is never printed.
  const account = JSON.parse(good.stdout) as Record<string, { password_hash: string, role: string }>
  t.same(account, JSON.parse(readFileSync(join(out, 'gateway-user.json'), 'utf8')))
  const password = (JSON.parse(readFileSync(join(out, 'wisp/board.json'), 'utf8')) as { password: string }).password
  t.ok(await verifyPassword(password, account.b7?.password_hash ?? ''))
  t.notOk(good.stdout.includes(password) || good.stderr.includes(password), 'the password is not printed')
})
