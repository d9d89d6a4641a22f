import type { BoardConfig } from '../../boards/schema.js'
import { hashPassword } from '../shared/password.js'

/** One entry of the gateway config's `users`: the board's MQTT account, role board. */
export type GatewayUserEntry = Readonly<Record<string, { readonly password_hash: string, readonly role: 'board' }>>

/** The board's account as the gateway stores it: the password only as a salted scrypt hash. */
export const gatewayUser = async (config: BoardConfig): Promise<GatewayUserEntry> => {
  if (config.username === undefined || config.password === undefined) throw new Error('a flashed board config always has a user name and password')
  return { [config.username]: { password_hash: await hashPassword(config.password), role: 'board' } }
}
