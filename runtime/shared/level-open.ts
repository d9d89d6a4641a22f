import { WispError } from './errors.js'

/**
 * Opens a LevelDB database. LevelDB takes an exclusive lock on its folder, so a second
 * cluster on the same data folder fails here: say so in words, not with a stack trace.
 */
export const openLevel = async (db: { open: () => Promise<void> }, dir: string, hint: string): Promise<void> => {
  try {
    await db.open()
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code
    if (code === 'LEVEL_LOCKED') {
      throw new WispError('WISP_BAD_CONFIG', `another wisp process is using the data folder ${dir}; stop it, or ${hint}`, { cause: err })
    }
    throw new WispError('WISP_BAD_CONFIG', `cannot open the database in ${dir}: ${(err as { cause?: Error }).cause?.message ?? (err as Error).message}`, { cause: err })
  }
}
