import type { Command } from 'commander'
import { fail, intOption } from '../errors.js'
import { addAdminOptions, checkName, withGateway, type AdminFlags } from '../admin-request.js'

export const registerRollback = (program: Command): void => {
  addAdminOptions(program.command('rollback <fn>')
    .description('make an earlier version of a function current (the one before the current, or --to N); boards then run its code (admin account)')
    .option('--to <version>', 'the version to make current (see `wisp describe`)', intOption('--to')))
    .action(async (fn: string, o: AdminFlags & { to?: number }) => {
      try {
        checkName(fn)
        const r = await withGateway(o, async (ask) => await ask({ op: 'rollback', fn, ...(o.to === undefined ? {} : { to: o.to }) })) as { version: number, sha256?: string }
        process.stdout.write(`${fn} is at version ${r.version}${r.sha256 === undefined ? '' : ` (sha256 ${r.sha256.slice(0, 12)})`}\n`)
      } catch (err) { fail(err) }
    })
}
