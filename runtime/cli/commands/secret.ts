import type { Command } from 'commander'
import { checkSecretName } from '../../protocol/secrets.js'
import { fail } from '../errors.js'
import { addAdminOptions, checkName, withGateway, type AdminFlags } from '../admin-request.js'
import { readSecretValue } from '../secret-input.js'

/** `wisp secret set|ls|rm`: a function's secrets, kept encrypted by the gateway, read by handlers as `context.env`. */
export const registerSecret = (program: Command): void => {
  const secret = program.command('secret').description('a function\'s secrets (context.env), kept encrypted by the gateway (admin account)')
  addAdminOptions(secret.command('set <fn> <NAME>')
    .description('set a secret of a function; its value is read from stdin (never from the command line), one trailing newline dropped'))
    .action(async (fn: string, name: string, o: AdminFlags) => {
      try {
        checkName(fn)
        checkSecretName(name)
        const value = await readSecretValue(process.stdin)
        await withGateway(o, async (ask) => await ask({ op: 'secret-set', fn, name, value }))
        process.stdout.write(`set secret ${name} of ${fn}\n`)
      } catch (err) { fail(err) }
    })
  addAdminOptions(secret.command('ls <fn>')
    .description('list the names (never the values) of a function\'s secrets')
    .option('--json', 'print JSON'))
    .action(async (fn: string, o: AdminFlags & { json?: boolean }) => {
      try {
        checkName(fn)
        const r = await withGateway(o, async (ask) => await ask({ op: 'secret-ls', fn })) as { names: string[] }
        if (o.json === true) { process.stdout.write(JSON.stringify(r.names) + '\n'); return }
        process.stdout.write(r.names.map((n) => `${n}\n`).join(''))
      } catch (err) { fail(err) }
    })
  addAdminOptions(secret.command('rm <fn> <NAME>')
    .description('remove a secret of a function'))
    .action(async (fn: string, name: string, o: AdminFlags) => {
      try {
        checkName(fn)
        checkSecretName(name)
        await withGateway(o, async (ask) => await ask({ op: 'secret-rm', fn, name }))
        process.stdout.write(`removed secret ${name} of ${fn}\n`)
      } catch (err) { fail(err) }
    })
}
