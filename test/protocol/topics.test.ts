import t from 'tap'
import { Topics } from '../../runtime/protocol/topics.js'
import { WispError } from '../../runtime/shared/errors.js'

const topics = new Topics()

t.test('parses every topic of the contract', async (t) => {
  t.same(topics.parse('wisp/invoke/hello'), { kind: 'invoke', fn: 'hello' })
  t.same(topics.parse('wisp/invoke/hello/me/r1'), { kind: 'invoke', fn: 'hello', client: 'me', req: 'r1' })
  t.same(topics.parse('wisp/result/me/hello/R_1-x'), { kind: 'result', client: 'me', fn: 'hello', req: 'R_1-x' })
  t.same(topics.parse('wisp/functions/primes'), { kind: 'function', fn: 'primes' })
  t.same(topics.parse(`wisp/code/${'a'.repeat(64)}`), { kind: 'code', sha256: 'a'.repeat(64) })
  t.same(topics.parse('wisp/boards/b1/state'), { kind: 'board', id: 'b1', channel: 'state' })
  t.same(topics.parse('wisp/leader/state'), { kind: 'leader-state' })
})

t.test('builders and parser agree', async (t) => {
  t.same(topics.parse(topics.invoke('f', 'c', 'r')), { kind: 'invoke', fn: 'f', client: 'c', req: 'r' })
  t.same(topics.parse(topics.result('c', 'f', 'r')), { kind: 'result', client: 'c', fn: 'f', req: 'r' })
  t.same(topics.parse(topics.board('b9', 'done')), { kind: 'board', id: 'b9', channel: 'done' })
})

const bad: Array<[string, RegExp]> = [
  ['other/invoke/hello', /does not start with "wisp\/"/],
  ['wisp/invoke/Hello', /function name must be 1-64 of \[a-z0-9-\]/],
  ['wisp/invoke/hello/me', /expected invoke/],
  ['wisp/invoke/hello/me/r 1', /request id/],
  ['wisp/invoke/hello/me/' + 'x'.repeat(65), /request id/],
  ['wisp/invoke/hello/ME/r1', /client must be/],
  ['wisp/invoke/' + 'a'.repeat(65), /function name/],
  // Plain objects answer to `constructor` (Object.prototype): a record keyed by function would find one.
  ['wisp/invoke/constructor', /function name must be 1-64 of \[a-z0-9-\], not "constructor"/],
  ['wisp/boards/constructor/state', /board id must be/],
  ['wisp/invoke/hello/constructor/r1', /client must be/],
  ['wisp/invoke//me/r1', /function name/],
  ['wisp/code/xyz', /sha256/],
  ['wisp/boards/b1/reboot', /expected boards/],
  ['wisp/nothing/here', /unknown kind/],
  ['wisp', /unknown kind/]
]
for (const [topic, why] of bad) {
  t.test(`rejects ${topic.slice(0, 40)}`, async (t) => {
    try {
      topics.parse(topic)
      t.fail('should have thrown')
    } catch (err) {
      t.ok(err instanceof WispError)
      t.equal((err as WispError).code, 'WISP_BAD_PAYLOAD')
      t.match((err as Error).message, why)
    }
  })
}

t.test('a custom prefix is honoured and validated', async (t) => {
  const p = new Topics('site-a')
  t.equal(p.invoke('f', 'c', 'r'), 'site-a/invoke/f/c/r')
  t.throws(() => p.parse('wisp/invoke/f'), /does not start with "site-a\/"/)
  t.throws(() => new Topics('a/b'), { code: 'WISP_BAD_CONFIG' })
})
