import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { WispError } from '../shared/errors.js'
import { NAME_RE, NAME_RULE } from '../protocol/topics.js'

/** Broker account of a CLI command: flags, else WISP_USERNAME / WISP_PASSWORD. */
export interface Credentials { readonly username?: string, readonly password?: string, readonly ca?: string }

export const addCredentialOptions = (cmd: Command): Command => cmd
  .option('--username <name>', 'broker account (default: env WISP_USERNAME)')
  .option('--password <secret>', 'its password (default: env WISP_PASSWORD)')
  .option('--ca <file>', 'CA certificate (PEM) to trust for an mqtts:// broker')

export const readPem = (file: string): string => {
  try { return readFileSync(file, 'utf8') } catch (err) { throw new WispError('WISP_BAD_CONFIG', `cannot read ${file}: ${(err as Error).message}`) }
}

export const credentials = (o: { username?: string, password?: string, ca?: string }, env: NodeJS.ProcessEnv = process.env): Credentials => {
  const username = o.username ?? env.WISP_USERNAME
  const password = o.password ?? env.WISP_PASSWORD
  if ((username === undefined) !== (password === undefined)) throw new WispError('WISP_BAD_CONFIG', 'give a username and a password together (--username/--password or WISP_USERNAME/WISP_PASSWORD)')
  if (username !== undefined && !NAME_RE.test(username)) throw new WispError('WISP_BAD_CONFIG', `--username must be ${NAME_RULE}`)
  return { username, password, ...(o.ca !== undefined ? { ca: readPem(o.ca) } : {}) }
}

/** A client id the broker accepts for this account: `<username>-<suffix>`. */
export const clientIdFor = (c: Credentials, suffix: string): string => `${c.username ?? 'wisp'}-${suffix}`
