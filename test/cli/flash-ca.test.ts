import t from 'tap'
import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, type Server } from 'node:tls'
import { parse } from 'yaml'
import { flash } from '../../runtime/flash/flash.js'
import { fakePackage } from '../helpers/flash-bundle.js'

const dir = mkdtempSync(join(tmpdir(), 'wisp-flash-ca-test-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const quiet = { progress: () => {} }

/** A private CA and a broker certificate for 127.0.0.1 signed by it, made by openssl(1). */
const makeCa = (): boolean => {
  const ssl = (args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' }) }
  try {
    ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2',
      '-subj', '/CN=wisp test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign'])
    ssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'broker.key', '-out', 'broker.csr', '-subj', '/CN=127.0.0.1'])
    writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1\n')
    ssl(['x509', '-req', '-in', 'broker.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'broker.pem', '-days', '2', '-extfile', 'san.cnf'])
    return true
  } catch { return false }
}

/** Whether a fresh Node process, with the given environment, trusts the server's certificate. */
const connects = (port: number, env: Record<string, string>): Promise<string> => new Promise((resolve) => {
  const code = `const s = require('node:tls').connect({ host: '127.0.0.1', port: ${port} }, () => { console.log('trusted'); s.end() }); s.on('error', (e) => console.log(e.code))`
  execFile(process.execPath, ['-e', code], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 }, (_err, stdout) => resolve(stdout.trim()))
})

t.test('--ca: the board trusts the gateway\'s private CA through NODE_EXTRA_CA_CERTS', async (t) => {
  if (!makeCa()) { t.comment('openssl is not installed; skipped'); return }
  const server: Server = createServer({ key: readFileSync(join(dir, 'broker.key')), cert: readFileSync(join(dir, 'broker.pem')) }, (s) => s.end())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const port = (server.address() as { port: number }).port

  const out = join(dir, 'card')
  await flash({ profile: 'raspberry-pi-4b', id: 'pi4', broker: `mqtts://127.0.0.1:${port}`, out, package: fakePackage(mkdtempSync(join(dir, 'pkg-'))), ca: join(dir, 'ca.pem') }, quiet)
  const unit = readFileSync(join(out, 'wisp/wisp-board.service'), 'utf8')
  t.match(unit, /^Environment=NODE_EXTRA_CA_CERTS=\/etc\/wisp\/gateway-ca\.pem$/m)
  const ud = parse(readFileSync(join(out, 'user-data'), 'utf8')) as { write_files: Array<{ path: string, content: string, permissions: string }> }
  const ca = ud.write_files.find((f) => f.path === '/etc/wisp/gateway-ca.pem')
  t.equal(ca?.content.trim(), readFileSync(join(dir, 'ca.pem'), 'utf8').trim())
  t.equal(ca?.permissions, '0644', 'a certificate is public')

  // What the unit does on the board, here with the file user-data carries.
  const installed = join(dir, 'gateway-ca.pem')
  writeFileSync(installed, ca?.content ?? '')
  t.equal(await connects(port, {}), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'without it, the broker\'s certificate is refused')
  t.equal(await connects(port, { NODE_EXTRA_CA_CERTS: installed }), 'trusted', 'with it, trusted')
})

t.test('--ca refuses what it cannot use', async (t) => {
  if (!makeCa()) { t.comment('openssl is not installed; skipped'); return }
  writeFileSync(join(dir, 'junk.pem'), '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n')
  writeFileSync(join(dir, 'with-key.pem'), readFileSync(join(dir, 'ca.pem'), 'utf8') + readFileSync(join(dir, 'ca.key'), 'utf8'))
  const base = { profile: 'raspberry-pi-4b', id: 'pi4', broker: 'mqtts://gw:8883', package: fakePackage(mkdtempSync(join(dir, 'pkg-'))) }
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['plain broker', { broker: 'mqtt://127.0.0.1:1883', ca: join(dir, 'ca.pem') }, /--ca needs an mqtts:\/\/ or wss:\/\/ broker/],
    ['no such file', { ca: join(dir, 'nope.pem') }, /is not a file/],
    ['not a certificate', { ca: join(dir, 'junk.pem') }, /not a certificate/],
    ['a private key beside it', { ca: join(dir, 'with-key.pem') }, /no private key/],
    ['not PEM', { ca: join(dir, 'san.cnf') }, /must hold PEM certificates/]
  ]
  for (const [name, over, message] of cases) {
    await t.rejects(flash({ ...base, out: join(dir, `bad-${name.replace(/ /g, '-')}`), ...over }, quiet), { code: 'WISP_BAD_CONFIG', message }, name)
  }
})
