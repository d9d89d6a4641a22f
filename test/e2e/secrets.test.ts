import t from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { maySubscribe } from '../../runtime/leader/broker-acl.js'
import { testCluster } from '../helpers/cluster.js'
import { TestClient } from '../helpers/mqtt.js'
import { runWisp } from '../helpers/wisp-cli.js'

/** `wisp <args>` as a user runs it, with `input` on its stdin. */
const wisp = async (args: readonly string[], input = ''): ReturnType<typeof runWisp> => await runWisp(args, 30_000, input)

/** FNV-1a over UTF-16 code units: the handler returns this of its secret, never the secret. */
const FNV = `const fnv = (s) => { let h = 0x811c9dc5; for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0 } return h }`
const fnv = (s: string): number => { let h = 0x811c9dc5; for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0 } return h }
const HANDLER = `${FNV}
export async function handler (event, context) {
  const env = context.env
  let assigned = true
  try { env.API_KEY = 'x' } catch { assigned = false }
  return { keys: Object.keys(env), hash: typeof env.API_KEY === 'string' ? fnv(env.API_KEY) : null, frozen: Object.isFrozen(env), assigned, proto: Object.getPrototypeOf(env) === Object.prototype }
}
`

const filesUnder = (dir: string): string[] => readdirSync(dir, { withFileTypes: true })
  .flatMap((e) => e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [])

t.test('secrets: set from stdin, read as context.env by that function only, never in the clear outside its run', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-secrets-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const empty = join(dir, 'none')
  mkdirSync(empty)
  const code = join(dir, 'h.js')
  writeFileSync(code, HANDLER)
  const c = await testCluster({ boards: 1, functionsDir: empty })
  t.teardown(c.close)
  const broker = ['--broker', c.url]
  const plain = `sk-${randomBytes(16).toString('hex')}`

  // Everything on the broker, from before the first secret to the end.
  const sniffer = await TestClient.connect(c.url)
  t.teardown(() => sniffer.close())
  await sniffer.sub('#')
  const client = await TestClient.connect(c.url)
  t.teardown(() => client.close())
  await client.sub('wisp/result/t/#')
  let n = 0
  const invoke = async (fn: string): Promise<{ ok: boolean, result?: { keys: string[], hash: number | null, frozen: boolean, assigned: boolean, proto: boolean } }> => {
    const req = `r${++n}`
    await client.pub(`wisp/invoke/${fn}/t/${req}`, '{}')
    await client.waitFor(() => client.on(`wisp/result/t/${fn}/${req}`).length > 0, 15_000)
    return client.on(`wisp/result/t/${fn}/${req}`)[0]?.json as { ok: boolean }
  }
  const admin = async (request: object): Promise<{ ok: boolean, result?: unknown, error?: { code: string, message: string } }> => {
    const req = `a${++n}`
    await client.sub(`wisp/admin/t/${req}/reply`)
    await client.pub(`wisp/admin/t/${req}`, JSON.stringify({ v: 1, ...request }))
    await client.waitFor(() => client.on(`wisp/admin/t/${req}/reply`).length > 0, 10_000)
    return client.on(`wisp/admin/t/${req}/reply`)[0]?.json as { ok: boolean }
  }

  for (const fn of ['keyed', 'other']) {
    const d = await wisp(['deploy', fn, code, ...broker])
    t.equal(d.code, 0, d.err)
  }
  const set = await wisp(['secret', 'set', 'keyed', 'API_KEY', ...broker], `${plain}\n`)
  t.equal(set.code, 0, set.err)
  t.match(set.out, /^set secret API_KEY of keyed/)
  t.notMatch(set.out + set.err, plain)
  const set2 = await wisp(['secret', 'set', 'keyed', 'REGION', ...broker], 'eu-1')
  t.equal(set2.code, 0, set2.err)

  const r = await invoke('keyed')
  t.equal(r.ok, true, JSON.stringify(r))
  t.same(r.result, { keys: ['API_KEY', 'REGION'], hash: fnv(plain), frozen: true, assigned: false, proto: true }, 'the handler read the secret, one trailing newline dropped; env is frozen')
  t.same((await invoke('other')).result, { keys: [], hash: null, frozen: true, assigned: false, proto: true }, 'another function sees none of it')

  const ls = await wisp(['secret', 'ls', 'keyed', ...broker])
  t.equal(ls.code, 0, ls.err)
  t.equal(ls.out, 'API_KEY\nREGION\n', 'names only')
  const describe = await wisp(['describe', 'keyed', '--json', ...broker])
  const list = await wisp(['ls', '--json', ...broker])
  t.equal(describe.code, 0, describe.err)
  t.equal(list.code, 0, list.err)
  t.notMatch(describe.out + list.out, plain, 'describe and ls never show a value')
  t.same((JSON.parse(describe.out) as { secrets: string[] }).secrets, ['API_KEY', 'REGION'], 'describe names them')
  const text = await wisp(['describe', 'keyed', ...broker])
  t.match(text.out, /^secrets: API_KEY, REGION$/m)

  // Pages and metrics of the gateway and of the board.
  const gwStatus = c.cluster.gateway.statusUrl ?? ''
  const boardStatus = c.cluster.gateway.leader.cluster.get('b1')?.state?.status_url ?? ''
  t.not(gwStatus, '')
  t.not(boardStatus, '')
  for (const url of [`${gwStatus}api/cluster`, `${gwStatus}metrics`, `${boardStatus}api/board`, `${boardStatus}metrics`]) {
    const res = await fetch(url)
    t.equal(res.status, 200, url)
    t.notMatch(await res.text(), plain, `${url} never shows it`)
  }

  // Bad input: refused by the CLI before any connection, and by the gateway itself.
  const badName = await wisp(['secret', 'set', 'keyed', 'api-key', '--broker', 'mqtt://127.0.0.1:1'], 'v')
  t.equal(badName.code, 2)
  t.match(badName.err, /WISP_BAD_CONFIG: secret name "api-key" must match/)
  const big = await wisp(['secret', 'set', 'keyed', 'BIG', ...broker], 'x'.repeat(4097))
  t.equal(big.code, 2)
  t.match(big.err, /WISP_BAD_CONFIG: a secret value is at most 4096 bytes/)
  const none = await wisp(['secret', 'set', 'keyed', 'EMPTY', ...broker], '')
  t.equal(none.code, 2)
  t.match(none.err, /WISP_BAD_CONFIG: no secret value on stdin/)
  t.match(await admin({ op: 'secret-set', fn: 'keyed', name: '1BAD', value: 'v' }), { ok: false, error: { code: 'WISP_BAD_CONFIG' } }, 'the gateway checks the name')
  t.match(await admin({ op: 'secret-set', fn: 'keyed', name: 'BIG', value: 'é'.repeat(2049) }), { ok: false, error: { code: 'WISP_BAD_CONFIG', message: /at most 4096 bytes; this one has 4098/ } }, 'and the size in bytes')
  for (let i = 0; i < 30; i++) t.match(await admin({ op: 'secret-set', fn: 'keyed', name: `K${i}`, value: 'v' }), { ok: true })
  t.match(await admin({ op: 'secret-set', fn: 'keyed', name: 'K30', value: 'v' }), { ok: false, error: { code: 'WISP_BAD_CONFIG', message: /already has 32 secrets/ } }, 'at most 32 per function')
  for (let i = 0; i < 30; i++) t.match(await admin({ op: 'secret-rm', fn: 'keyed', name: `K${i}` }), { ok: true })

  const rm = await wisp(['secret', 'rm', 'keyed', 'API_KEY', ...broker])
  t.equal(rm.code, 0, rm.err)
  t.same((await invoke('keyed')).result, { keys: ['REGION'], hash: null, frozen: true, assigned: false, proto: true }, 'after secret rm the handler no longer has it')
  const again = await wisp(['secret', 'rm', 'keyed', 'API_KEY', ...broker])
  t.equal(again.code, 2)
  t.match(again.err, /WISP_BAD_CONFIG: function keyed has no secret API_KEY/)

  // On the wire: only in the admin request that set it and in the run messages of `keyed` to its board.
  await sniffer.waitFor((rs) => rs.some((x) => x.topic === 'wisp/result/t/keyed/r1'), 5000)
  const carrying = sniffer.received.filter((x) => x.payload.includes(plain))
  t.ok(carrying.some((x) => x.topic === 'wisp/boards/b1/run'), 'the sniffer saw the run that carried it (so it would see a leak)')
  t.same([...new Set(carrying.map((x) => x.topic.replace(/^wisp\/admin\/[^/]+\/[^/]+$/, 'wisp/admin/<user>/<req>')))].sort(), ['wisp/admin/<user>/<req>', 'wisp/boards/b1/run'])
  for (const x of carrying.filter((y) => y.topic === 'wisp/boards/b1/run')) t.equal((x.json as { fn: string }).fn, 'keyed', 'only in runs of keyed')
  const late = await TestClient.connect(c.url)
  t.teardown(() => late.close())
  await late.sub('#')
  await late.waitFor((rs) => rs.some((x) => x.topic === 'wisp/functions/keyed'), 5000)
  t.notOk(late.received.some((x) => x.payload.includes(plain)), 'no retained message holds it')
  // With accounts, no client and no other board may read a board's run topic.
  t.notOk(maySubscribe('wisp', 'me', 'client', 'wisp/boards/b1/run'))
  t.notOk(maySubscribe('wisp', 'b2', 'board', 'wisp/boards/b1/run'))
  t.notOk(maySubscribe('wisp', 'me', 'client', 'wisp/admin/admin/x'))

  // At rest: the gateway's and the board's files never hold it in the clear; the key file is 0600.
  const secretBytes = Buffer.from(plain)
  for (const f of filesUnder(c.dataDir)) t.notOk(readFileSync(f).includes(secretBytes), `${f.slice(c.dataDir.length)} does not hold it`)
  const keyFile = filesUnder(c.dataDir).find((f) => f.endsWith('secrets.key')) ?? ''
  t.equal(statSync(keyFile).mode & 0o777, 0o600, 'the key file is 0600')
  t.equal(statSync(keyFile).size, 32)
})
