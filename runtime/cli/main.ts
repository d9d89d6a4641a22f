import { Command } from 'commander'
import { registerBoard } from './commands/board.js'
import { registerBoards } from './commands/boards.js'
import { registerDeploy } from './commands/deploy.js'
import { registerGateway } from './commands/gateway.js'
import { registerInvoke } from './commands/invoke.js'
import { registerStart } from './commands/start.js'
import { registerFlash } from './commands/flash.js'
import { registerSimulate } from './commands/simulate.js'
import { registerUsers } from './commands/users.js'
import { registerRollback } from './commands/rollback.js'
import { registerDescribe } from './commands/describe.js'
import { registerLs } from './commands/ls.js'
import { registerRm } from './commands/rm.js'
import { registerLogs } from './commands/logs.js'
import { registerSecret } from './commands/secret.js'
import { registerUpgrade } from './commands/upgrade.js'

// Run by bin/wisp.js in a child process (for Node flags): leave with it, at once, if it dies
// (e.g. kill -9 of the pid a user or a supervisor sees), never lingering as an orphan that
// holds the gateway's ports and data folder. The channel must not keep a finished command alive.
if (process.env.WISP_WRAPPED === '1' && process.send !== undefined) {
  delete process.env.WISP_WRAPPED // not for the processes this one starts
  process.channel?.unref()
  process.on('disconnect', () => process.exit(1))
}

/** Composition root of the `wisp` command line. */
const program = new Command()
program.name('wisp').description('serverless runtime for small clusters of ARM edge boards').version('0.1.0')
registerStart(program)
registerGateway(program)
registerBoard(program)
registerDeploy(program)
registerInvoke(program)
registerLs(program)
registerDescribe(program)
registerRollback(program)
registerRm(program)
registerLogs(program)
registerSecret(program)
registerUpgrade(program)
registerBoards(program)
registerFlash(program)
registerSimulate(program)
registerUsers(program)
await program.parseAsync(process.argv)
