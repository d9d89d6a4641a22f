import type { Command } from 'commander'
import { fail } from '../errors.js'

export const registerBoard = (program: Command): void => {
  program.command('board')
    .description('run a board agent from its config (on a real board, or simulated with --sim)')
    .requiredOption('--config <file>', 'board config JSON (id, profile, broker, INA219, relay)')
    .option('--sim', 'simulated board: emulate the profile\'s speed and a register-level INA219', false)
    .option('--broker <url>', 'override the broker URL of the config')
    .action(async (o: { config: string, sim: boolean, broker?: string }) => {
      try {
        const { loadBoardConfig } = await import('../../../boards/index.js')
        const { startBoard } = await import('../../board/main.js')
        const { createLogger } = await import('../../shared/log.js')
        const base = loadBoardConfig(o.config)
        const config = o.broker === undefined ? base : Object.freeze({ ...base, broker: o.broker })
        const log = createLogger(config.id)
        let stopping = false
        const board = await startBoard(config, log, { sim: o.sim })
        const stop = (why: string): void => {
          if (stopping) return
          stopping = true
          log.info(`${why}: stopping`)
          const hard = setTimeout(() => process.exit(1), 5000)
          hard.unref()
          board.stop().then(() => process.exit(0), () => process.exit(1))
        }
        process.on('SIGINT', () => stop('SIGINT'))
        process.on('SIGTERM', () => stop('SIGTERM'))
        // Started by `wisp start`: leave with the parent, never as an orphan.
        if (process.send !== undefined) process.on('disconnect', () => stop('parent gone'))
      } catch (err) { fail(err) }
    })
}
