import t from 'tap'
import { Readable } from 'node:stream'
import { encode, parseRun } from '../../runtime/protocol/messages.js'
import { checkSecretName, SECRET_LIMITS } from '../../runtime/protocol/secrets.js'
import { readSecretValue } from '../../runtime/cli/secret-input.js'

const sha = 'a'.repeat(64)
const run = (env: unknown): Buffer => encode({ v: 1, invocation: 'i1', request_id: 'r1', fn: 'f', sha256: sha, event: null, budget_ms: 100, attempt: 0, env })

t.test('a run carries env only in its bounds', async (t) => {
  t.same(parseRun(run({ API_KEY: 'v', _X1: '' })).env, { API_KEY: 'v', _X1: '' })
  t.equal(parseRun(encode({ v: 1, invocation: 'i1', request_id: 'r1', fn: 'f', sha256: sha, event: null, budget_ms: 100, attempt: 0 })).env, undefined)
  t.throws(() => parseRun(run({ 'api-key': 'v' })), { code: 'WISP_BAD_PAYLOAD' })
  t.throws(() => parseRun(run({ K: 1 })), { code: 'WISP_BAD_PAYLOAD' })
  t.throws(() => parseRun(run({ K: 'x'.repeat(SECRET_LIMITS.valueBytes + 1) })), { code: 'WISP_BAD_PAYLOAD' })
  const many = Object.fromEntries(Array.from({ length: SECRET_LIMITS.perFunction + 1 }, (_, i) => [`K${i}`, 'x'.repeat(SECRET_LIMITS.valueBytes)]))
  t.throws(() => parseRun(run(many)), { code: 'WISP_BAD_PAYLOAD' })
  delete many.K0
  t.equal(Object.keys(parseRun(run(many)).env ?? {}).length, SECRET_LIMITS.perFunction, 'the most a function may have fits a run')
})

t.test('secret names', async (t) => {
  for (const ok of ['A', '_', 'API_KEY', 'K9', `A${'B'.repeat(63)}`]) t.equal(checkSecretName(ok), ok)
  for (const bad of ['', 'a', '9A', 'API-KEY', 'A B', `A${'B'.repeat(64)}`]) t.throws(() => checkSecretName(bad), { code: 'WISP_BAD_CONFIG' }, bad)
})

t.test('a value from stdin: one trailing newline dropped, bounded, UTF-8', async (t) => {
  const from = async (...chunks: Buffer[]): Promise<string> => await readSecretValue(Readable.from(chunks))
  t.equal(await from(Buffer.from('abc\n')), 'abc')
  t.equal(await from(Buffer.from('abc\r\n')), 'abc')
  t.equal(await from(Buffer.from('a\n\n')), 'a\n')
  t.equal(await from(Buffer.from('ünï'), Buffer.from('cødé')), 'ünïcødé')
  t.equal(await from(Buffer.alloc(4096, 0x41), Buffer.from('\n')), 'A'.repeat(4096))
  await t.rejects(from(Buffer.alloc(4097, 0x41)), { code: 'WISP_BAD_CONFIG', message: /at most 4096 bytes/ })
  await t.rejects(from(Buffer.alloc(1 << 20, 0x41)), { code: 'WISP_BAD_CONFIG' })
  await t.rejects(from(), { code: 'WISP_BAD_CONFIG', message: /no secret value/ })
  await t.rejects(from(Buffer.from('\n')), { code: 'WISP_BAD_CONFIG' })
  await t.rejects(from(Buffer.from([0xff, 0xfe])), { code: 'WISP_BAD_CONFIG', message: /UTF-8/ })
})
