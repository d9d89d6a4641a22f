import type { Command } from 'commander'
import { fail } from '../errors.js'
import { addAdminOptions, checkName, withGateway, type AdminFlags } from '../admin-request.js'

/** Beyond the function's timeout, what the gateway may take to answer its last invocations (wait for a board, reply grace). */
const DRAIN_SLACK_MS = 15_000

export const registerRm = (program: Command): void => {
  addAdminOptions(program.command('rm <fn>')
    .description('remove a function: new invocations get WISP_UNKNOWN_FUNCTION, running ones finish, then its manifest, versions and code are removed (admin account)'))
    .action(async (fn: string, o: AdminFlags) => {
      try {
        checkName(fn)
        await withGateway(o, async (ask) => {
          const d = await ask({ op: 'describe', fn }) as { timeout_ms: number }
          await ask({ op: 'rm', fn }, d.timeout_ms + DRAIN_SLACK_MS)
        })
        process.stdout.write(`removed ${fn}\n`)
      } catch (err) { fail(err) }
    })
}
