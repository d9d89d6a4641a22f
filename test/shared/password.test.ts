import t from 'tap'
import { accountChecker, hashPassword, isPasswordHash, verifyPassword } from '../../runtime/shared/password.js'

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

t.test('the account check the broker and the HTTP server share: the account for its password; null for a wrong one, an unknown name or a prototype key; an unknown name costs a scrypt too', async (t) => {
  const alice = { password_hash: await hashPassword('pw-alice'), role: 'client' as const }
  const check = accountChecker({ alice })
  t.equal(await check('alice', 'pw-alice'), alice)
  t.equal(await check('alice', 'pw-alicf'), null)
  t.equal(await check('bob', 'pw-alice'), null)
  t.equal(await check(undefined, 'pw-alice'), null)
  for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) t.equal(await check(key, ''), null, `"${key}" is no account`)
  const took = async (name: string): Promise<number> => {
    const times: number[] = []
    for (let i = 0; i < 3; i++) { const t0 = performance.now(); await check(name, 'guess'); times.push(performance.now() - t0) }
    return times.sort((a, b) => a - b)[1] as number
  }
  const known = await took('alice')
  const unknown = await took('mallory')
  t.ok(unknown > known / 3, `an unknown name takes ${unknown.toFixed(1)} ms, a known one ${known.toFixed(1)} ms (one scrypt each)`)
})
