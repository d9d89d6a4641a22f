import t from 'tap'
import { mayPublish, maySubscribe, ownerOfClientId } from '../../runtime/leader/broker-acl.js'
import { mosquittoAcl } from '../../runtime/leader/mosquitto-acl.js'
import { GatewayConfigSchema } from '../../runtime/leader/gateway-config.js'
import { validateConfig } from '../../boards/index.js'
import { newUser } from '../../runtime/cli/commands/users.js'
import { credentials, clientIdFor } from '../../runtime/cli/credentials.js'
import { verifyPassword } from '../../runtime/shared/password.js'

t.test('a client id belongs to the longest username it starts with', async (t) => {
  const users = ['b1', 'b1-x', 'alice']
  t.equal(ownerOfClientId('b1', users), 'b1')
  t.equal(ownerOfClientId('b1-0001', users), 'b1')
  t.equal(ownerOfClientId('b1-x', users), 'b1-x')
  t.equal(ownerOfClientId('b1-x-7', users), 'b1-x', 'so b1 cannot take b1-x\'s ids')
  t.equal(ownerOfClientId('alicex', users), null, 'a prefix must end at a dash')
  t.equal(ownerOfClientId('wisp-b1-1', users), null)
  t.equal(ownerOfClientId('', users), null)
})

t.test('the rules for each role', async (t) => {
  const p = 'wisp'
  t.ok(mayPublish(p, 'admin', 'admin', 'wisp/functions/x', true))
  t.ok(mayPublish(p, 'b1', 'board', 'wisp/boards/b1/state', true), 'a board retains its state')
  t.ok(mayPublish(p, 'b1', 'board', 'wisp/boards/b1/done', false))
  t.notOk(mayPublish(p, 'b1', 'board', 'wisp/boards/b1/done', true), 'but no retained done')
  t.notOk(mayPublish(p, 'b1', 'board', 'wisp/boards/b1/run', false))
  t.ok(mayPublish(p, 'b1', 'board', 'wisp/boards/b1/cap', false), 'a board asks for its handlers\' capabilities')
  t.notOk(mayPublish(p, 'b1', 'board', 'wisp/boards/b1/cap', true), 'never retained')
  t.notOk(mayPublish(p, 'b1', 'board', 'wisp/boards/b2/cap', false), 'nor as another board')
  t.notOk(mayPublish(p, 'b1', 'board', 'wisp/boards/b1/cap-reply', false), 'and cannot answer itself')
  t.notOk(mayPublish(p, 'alice', 'client', 'wisp/boards/b1/cap', false), 'a client cannot ask as a board')
  t.ok(maySubscribe(p, 'b1', 'board', 'wisp/boards/b1/cap-reply'))
  t.notOk(maySubscribe(p, 'b1', 'board', 'wisp/boards/b2/cap-reply'))
  t.notOk(maySubscribe(p, 'b1', 'board', 'wisp/boards/+/cap'), 'nor hear other boards\' calls')
  t.notOk(mayPublish(p, 'b1', 'board', 'wisp/boards/b2/state', false))
  t.ok(mayPublish(p, 'alice', 'client', 'wisp/invoke/hello', false))
  t.ok(mayPublish(p, 'alice', 'client', 'wisp/invoke/hello/alice/r1', false))
  t.notOk(mayPublish(p, 'alice', 'client', 'wisp/invoke/hello/alice/r1', true), 'no retained invoke')
  t.notOk(mayPublish(p, 'alice', 'client', 'wisp/invoke/hello/bob/r1', false))
  t.notOk(mayPublish(p, 'alice', 'client', 'wisp/invoke/hello/alice/r1/extra', false))
  t.notOk(mayPublish(p, 'alice', 'client', 'wisp/invoke/Hello', false))
  t.notOk(mayPublish(p, 'alice', 'client', 'other/invoke/hello', false))
  t.ok(maySubscribe(p, 'b1', 'board', `wisp/code/${'a'.repeat(64)}`))
  t.notOk(maySubscribe(p, 'b1', 'board', 'wisp/code/+'))
  t.notOk(maySubscribe(p, 'b1', 'board', 'wisp/code/#'))
  t.ok(maySubscribe(p, 'b1', 'board', 'wisp/functions/+'))
  t.notOk(maySubscribe(p, 'b1', 'board', 'wisp/boards/+/run'))
  t.ok(maySubscribe(p, 'alice', 'client', 'wisp/result/alice/#'))
  t.ok(maySubscribe(p, 'alice', 'client', 'wisp/result/alice/hello/+'))
  t.notOk(maySubscribe(p, 'alice', 'client', 'wisp/result/alice'))
  t.notOk(maySubscribe(p, 'alice', 'client', 'wisp/result/+/#'))
  t.notOk(maySubscribe(p, 'alice', 'client', 'wisp/functions/+'))
})

t.test('admin requests: admins only, each under its own username (the gateway records it as who deployed)', async (t) => {
  const p = 'wisp'
  t.ok(mayPublish(p, 'root', 'admin', 'wisp/admin/root/r1', false))
  t.notOk(mayPublish(p, 'root', 'admin', 'wisp/admin/ops/r1', false), 'not under another admin\'s name')
  t.notOk(mayPublish(p, 'root', 'admin', 'wisp/admin/ops/r1/reply', false), 'nor forge its replies')
  t.notOk(mayPublish(p, 'alice', 'client', 'wisp/admin/alice/r1', false), 'a client may not')
  t.notOk(mayPublish(p, 'b1', 'board', 'wisp/admin/b1/r1', false), 'a board may not')
  t.notOk(maySubscribe(p, 'alice', 'client', 'wisp/logs/+'), 'nor read the logs')
  t.notOk(maySubscribe(p, 'b1', 'board', 'wisp/admin/#'))
})

t.test('gateway config: salted hashes only, and a clear way out of the old form', async (t) => {
  const old = { users: { alice: { password_sha256: 'a'.repeat(64), role: 'client' } } }
  t.throws(() => validateConfig(GatewayConfigSchema, old, 'gateway config'), { code: 'WISP_BAD_CONFIG', message: /users\.alice\.password_sha256.*unsalted.*wisp users add/ })
  t.throws(() => validateConfig(GatewayConfigSchema, { users: { alice: { password_hash: 'x', role: 'client' } } }, 'gateway config'), { code: 'WISP_BAD_CONFIG', message: /password_hash.*scrypt/ })
  t.throws(() => validateConfig(GatewayConfigSchema, { users: { alice: { password_hash: 'x', role: 'root' } } }, 'gateway config'), { code: 'WISP_BAD_CONFIG' })
  const u = await newUser('alice', 'client', 'correct horse')
  const c = validateConfig(GatewayConfigSchema, { users: u.entry }, 'gateway config')
  t.equal(c.users.alice?.role, 'client')
  t.ok(await verifyPassword('correct horse', c.users.alice?.password_hash ?? ''), 'the printed entry verifies the password')
  const gen = await newUser('b1', 'board')
  t.ok(gen.generated && gen.password.length >= 20, 'a generated password is long')
  await t.rejects(newUser('Alice', 'client'), { code: 'WISP_BAD_CONFIG' })
  await t.rejects(newUser('alice', 'root'), { code: 'WISP_BAD_CONFIG', message: /admin, client, board/ })
  await t.rejects(newUser('alice', 'client', 'short'), { code: 'WISP_BAD_CONFIG' })
})

t.test('CLI credentials: flags, else WISP_USERNAME/WISP_PASSWORD, both or neither', async (t) => {
  t.same(credentials({}, {}), { username: undefined, password: undefined })
  t.same(credentials({}, { WISP_USERNAME: 'alice', WISP_PASSWORD: 'pw' }), { username: 'alice', password: 'pw' })
  t.same(credentials({ username: 'bob', password: 'x' }, { WISP_USERNAME: 'alice', WISP_PASSWORD: 'pw' }), { username: 'bob', password: 'x' })
  t.throws(() => credentials({ username: 'bob' }, {}), { code: 'WISP_BAD_CONFIG' })
  t.equal(clientIdFor({ username: 'alice' }, 'deploy-1'), 'alice-deploy-1')
})

t.test('the Mosquitto ACL has one block per account with the same rules', async (t) => {
  const acl = mosquittoAcl({ ops: { role: 'admin' }, b1: { role: 'board' }, alice: { role: 'client' } }, 'wisp')
  t.match(acl, /user ops\ntopic readwrite #\n/)
  t.match(acl, /user b1\ntopic write wisp\/boards\/b1\/state\ntopic write wisp\/boards\/b1\/done\ntopic write wisp\/boards\/b1\/cap\ntopic read wisp\/boards\/b1\/run\ntopic read wisp\/boards\/b1\/control\ntopic read wisp\/boards\/b1\/cap-reply\n/)
  t.match(acl, /user alice\ntopic write wisp\/invoke\/\+\ntopic write wisp\/invoke\/\+\/alice\/\+\ntopic read wisp\/result\/alice\/#\n/)
  t.notMatch(acl, /^pattern/m, 'no pattern lines: those would apply to every role')
})
