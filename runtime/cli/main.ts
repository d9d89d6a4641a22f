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

/** Composition root of the `wisp` command line. */
const program = new Command()
program.name('wisp').description('serverless runtime for small clusters of ARM edge boards').version('0.1.0')
registerStart(program)
registerGateway(program)
registerBoard(program)
registerDeploy(program)
registerInvoke(program)
registerBoards(program)
registerFlash(program)
registerSimulate(program)
registerUsers(program)
await program.parseAsync(process.argv)
