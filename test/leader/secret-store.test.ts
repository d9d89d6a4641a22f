import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { SecretCipher } from '../../runtime/leader/secret-cipher.js'
import { openSecrets } from '../../runtime/leader/secret-store.js'
import type { Logger } from '../../runtime/shared/log.js'

const recording = (): { log: Logger, lines: string[] } => {
  const lines: string[] = []
  const put = (msg: string, f?: unknown): void => { lines.push(`${msg} ${JSON.stringify(f ?? {})}`) }
  return { log: { debug: put, info: put, warn: put, error: put }, lines }
}

t.test('secrets survive a reopen, encrypted under a 0600 key made once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-secret-store-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const { log, lines } = recording()
  const s = await openSecrets(dir, log)
  await s.set('f', 'API_KEY', 'hunter2-value')
  await s.set('g', 'API_KEY', 'other-value')
  t.same(s.env('f'), { API_KEY: 'hunter2-value' })
  t.ok(Object.isFrozen(s.env('f')))
  t.equal(s.env('h'), undefined, 'none for a function without secrets')
  await t.rejects(s.set('f', 'bad-name', 'v'), { code: 'WISP_BAD_CONFIG' })
  await t.rejects(s.set('f', 'BIG', 'x'.repeat(4097)), { code: 'WISP_BAD_CONFIG' })
  await s.close()
  const key = readFileSync(join(dir, 'secrets.key'))
  t.equal(key.length, 32)
  t.equal(statSync(join(dir, 'secrets.key')).mode & 0o777, 0o600)

  const again = await openSecrets(dir, log)
  t.same(again.env('f'), { API_KEY: 'hunter2-value' }, 'read back with the same key')
  t.same(again.names('g'), ['API_KEY'])
  t.ok(readFileSync(join(dir, 'secrets.key')).equals(key), 'the key file was not replaced')
  t.equal(await again.remove('g', 'API_KEY'), true)
  t.equal(await again.remove('g', 'API_KEY'), false)
  await again.forget('f')
  t.equal(again.env('f'), undefined)
  await again.close()
  t.notOk(lines.join('\n').includes('hunter2'), 'nothing logged holds a value')
})

t.test('a value moved to another place, or read with another key, does not decrypt', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-secret-store-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const s = await openSecrets(dir, recording().log)
  await s.set('f', 'API_KEY', 'the-value')
  await s.close()
  const db = new Level<string, string>(join(dir, 'secrets'), { valueEncoding: 'utf8' })
  const sealed = await db.get('f/API_KEY') as string
  t.notOk(sealed.includes('the-value'))
  await db.put('g/API_KEY', sealed) // copied to another function
  await db.close()
  const { log, lines } = recording()
  const moved = await openSecrets(dir, log)
  t.same(moved.env('f'), { API_KEY: 'the-value' })
  t.equal(moved.env('g'), undefined, 'bound to its function and name')
  t.match(lines.join('\n'), /does not decrypt.*"fn":"g"/)
  await moved.close()
  writeFileSync(join(dir, 'secrets.key'), Buffer.alloc(32, 7))
  const other = await openSecrets(dir, recording().log)
  t.equal(other.env('f'), undefined, 'another key reads nothing')
  await other.close()
  writeFileSync(join(dir, 'secrets.key'), Buffer.alloc(5))
  t.throws(() => SecretCipher.open(join(dir, 'secrets.key')), { code: 'WISP_BAD_CONFIG' })
})
