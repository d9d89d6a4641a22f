import t from 'tap'
import { hashPassword, isPasswordHash, verifyPassword } from '../../runtime/shared/password.js'

t.test('a hash verifies its own password and no other', async (t) => {
  const h = await hashPassword('correct horse')
  t.ok(isPasswordHash(h), h)
  t.ok(await verifyPassword('correct horse', h))
  t.notOk(await verifyPassword('correct horsf', h))
  t.notOk(await verifyPassword('', h))
})

t.test('two hashes of one password differ (salted)', async (t) => {
  t.not(await hashPassword('pw'), await hashPassword('pw'))
})

t.test('malformed or unsalted hashes never match', async (t) => {
  const sha256 = '5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8'
  for (const bad of [sha256, '', 'scrypt$16384$8$1$$', 'scrypt$1000$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==', 'scrypt$16384$8$1$!!$??']) {
    t.notOk(isPasswordHash(bad), `rejects ${bad}`)
    t.notOk(await verifyPassword('password', bad))
  }
})
