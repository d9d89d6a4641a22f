import { accountChecker } from '../shared/password.js'
import type { Role } from '../shared/roles.js'

export interface Account { readonly password_hash: string, readonly role: Role }
export interface Caller { readonly name: string, readonly role: Role }

/** RFC 7617 credentials from an Authorization header, or null when absent or malformed. */
export const parseBasic = (header: string | undefined): { user: string, password: string } | null => {
  if (header === undefined) return null
  const m = /^Basic[ ]+([A-Za-z0-9+/]+={0,2})[ ]*$/i.exec(header)
  if (m === null) return null
  const text = Buffer.from(m[1] as string, 'base64').toString('utf8')
  const colon = text.indexOf(':')
  if (colon <= 0) return null
  return { user: text.slice(0, colon), password: text.slice(colon + 1) }
}

/**
 * HTTP Basic authentication against the broker's accounts (the same salted scrypt hashes and
 * the same check, accountChecker): resolves to the caller or null.
 */
export const basicAuthenticator = (users: Readonly<Record<string, Account>>): ((header: string | undefined) => Promise<Caller | null>) => {
  const check = accountChecker(users)
  return async (header) => {
    const creds = parseBasic(header)
    if (creds === null) return null
    const user = await check(creds.user, creds.password)
    return user === null ? null : { name: creds.user, role: user.role }
  }
}
