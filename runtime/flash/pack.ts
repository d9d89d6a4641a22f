import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { WispError } from '../shared/errors.js'

const run = promisify(execFile)

/** The package root (this file is runtime/flash/pack.ts), in a checkout or an installed copy. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** `npm pack`s the project into a fresh temporary folder and returns the tarball's path. */
export const packProject = async (root = PROJECT_ROOT): Promise<string> => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-pack-'))
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  try {
    const { stdout } = await run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: root, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 })
    const info = JSON.parse(stdout) as Array<{ filename: string }>
    const file = info[0]?.filename
    if (file === undefined) throw new Error('npm pack printed no file name')
    return join(dir, file)
  } catch (err) {
    throw new WispError('WISP_BAD_CONFIG', `npm pack of ${root} failed: ${(err as Error).message}`, { cause: err })
  }
}
