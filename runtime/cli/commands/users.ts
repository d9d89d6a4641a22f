import { randomBytes } from 'node:crypto'
import type { Command } from 'commander'
import { WispError } from '../../shared/errors.js'
import { hashPassword } from '../../shared/password.js'
import { ROLES, type Role } from '../../shared/roles.js'
import { fail } from '../errors.js'
import { NAME_RE, NAME_RULE } from '../../protocol/topics.js'

/** A `users` entry of the gateway config, and the password when none was given. */
export const newUser = async (name: string, role: string, password?: string): Promise<{ entry: Record<string, { password_hash: string, role: Role }>, password: string, generated: boolean }> => {
  if (!NAME_RE.test(name)) throw new WispError('WISP_BAD_CONFIG', `the account name must be ${NAME_RULE} (a board account is named after its board id)`)
  if (!(ROLES as readonly string[]).includes(role)) throw new WispError('WISP_BAD_CONFIG', `--role must be one of ${ROLES.join(', ')}`)
  if (password !== undefined && password.length < 8) throw new WispError('WISP_BAD_CONFIG', '--password must be at least 8 characters')
  const secret = password ?? randomBytes(18).toString('base64url')
  return { entry: { [name]: { password_hash: await hashPassword(secret), role: role as Role } }, password: secret, generated: password === undefined }
}

export const registerUsers = (program: Command): void => {
  const users = program.command('users').description('broker accounts of the gateway (see SECURITY.md)')
  users.command('add <name>')
    .description('print a salted scrypt entry for the "users" of the gateway config (and a new password unless --password)')
    .requiredOption('--role <role>', `${ROLES.join(', ')}`)
    .option('--password <secret>', 'the password (default: a random one, printed once)')
    .action(async (name: string, o: { role: string, password?: string }) => {
      try {
        const u = await newUser(name, o.role, o.password)
        process.stdout.write(`${JSON.stringify(u.entry, null, 2)}\n`)
        if (u.generated) process.stderr.write(`password of ${name} (shown once; give it to the ${o.role} as --password or WISP_PASSWORD): ${u.password}\n`)
      } catch (err) { fail(err) }
    })
  users.command('mosquitto-acl')
    .description('print a Mosquitto acl_file with the same rules as the embedded broker, from the gateway config\'s users')
    .requiredOption('--config <file>', 'gateway config JSON')
    .action(async (o: { config: string }) => {
      try {
        const { mosquittoAcl } = await import('../../leader/mosquitto-acl.js')
        const { loadGatewayConfig } = await import('../../leader/gateway-config.js')
        const c = loadGatewayConfig(o.config)
        process.stdout.write(mosquittoAcl(c.users, c.topic_prefix))
      } catch (err) { fail(err) }
    })
}
