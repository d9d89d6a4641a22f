import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'

/**
 * Salted scrypt password hashes (RFC 7914) for broker accounts, encoded as
 * `scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>` so the cost can rise without breaking old entries.
 * N = 2^14, r = 8, p = 1 are the parameters RFC 7914 §2 and OWASP list for interactive logins;
 * one check takes ~16 MiB and tens of milliseconds, cheap for a broker's CONNECT, dear for a guesser.
 */
const DEFAULTS = { N: 16384, r: 8, p: 1 } as const
const KEY_BYTES = 32
const SALT_BYTES = 16

const derive = async (password: string, salt: Buffer, o: { N: number, r: number, p: number }): Promise<Buffer> => {
  const opts: ScryptOptions = { N: o.N, r: o.r, p: o.p, maxmem: 128 * o.N * o.r * 2 }
  return await new Promise((resolve, reject) => scrypt(password, salt, KEY_BYTES, opts, (err, key) => { if (err !== null) reject(err); else resolve(key) }))
}

export const hashPassword = async (password: string): Promise<string> => {
  const salt = randomBytes(SALT_BYTES)
  const key = await derive(password, salt, DEFAULTS)
  return `scrypt$${DEFAULTS.N}$${DEFAULTS.r}$${DEFAULTS.p}$${salt.toString('base64')}$${key.toString('base64')}`
}

const ENCODED = /^scrypt\$(\d{1,7})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9+/=]{8,})\$([A-Za-z0-9+/=]{16,})$/

/** True when `encoded` is a well-formed hash this module can check (configs are validated with it). */
export const isPasswordHash = (encoded: string): boolean => {
  const m = ENCODED.exec(encoded)
  if (m === null) return false
  const N = Number(m[1])
  return N >= 1024 && N <= 1_048_576 && (N & (N - 1)) === 0 && Number(m[2]) >= 1 && Number(m[3]) >= 1
}

/** Constant-time check of a password against an encoded hash; a malformed hash never matches. */
export const verifyPassword = async (password: string, encoded: string): Promise<boolean> => {
  if (!isPasswordHash(encoded)) return false
  const m = ENCODED.exec(encoded) as RegExpExecArray
  const expected = Buffer.from(m[5] as string, 'base64')
  const key = await derive(password, Buffer.from(m[4] as string, 'base64'), { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) })
  return key.length === expected.length && timingSafeEqual(key, expected)
}

/**
 * Checks a name and password against accounts holding such hashes (the broker's and the HTTP
 * invoke server's): the account, or null. An unknown name costs one scrypt too (against a decoy
 * hash made once), so timing does not tell which accounts exist; only own properties are names.
 */
export const accountChecker = <A extends { readonly password_hash: string }>(accounts: Readonly<Record<string, A>>): ((name: string | undefined, password: string) => Promise<A | null>) => {
  let decoy: Promise<string> | undefined
  return async (name, password) => {
    const account = name !== undefined && Object.hasOwn(accounts, name) ? accounts[name] : undefined
    if (account === undefined) {
      decoy ??= hashPassword(randomBytes(16).toString('hex'))
      await verifyPassword(password, await decoy)
      return null
    }
    return await verifyPassword(password, account.password_hash) ? account : null
  }
}
