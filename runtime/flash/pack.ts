import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { distProblem } from '../shared/build-stamp.js'
import { WispError } from '../shared/errors.js'
import { PACKAGE_ROOT as ROOT } from '../shared/package-root.js'

const run = promisify(execFile)

/** The package root, in a checkout or an installed copy. */
export const PROJECT_ROOT = ROOT

/**
 * `npm pack`s the project into a fresh temporary folder and returns the tarball's path. The
 * package carries the compiled JavaScript (dist/), not the TypeScript: in a checkout it is
 * brought up to date first (`npm run build`), and a dist/ that is still stale is refused.
 */
export const packProject = async (root = PROJECT_ROOT): Promise<string> => {
  try {
    await run(process.execPath, [join(root, 'scripts/build.js')], { cwd: root, timeout: 600_000 })
  } catch (err) {
    throw new WispError('WISP_BAD_CONFIG', `the build before packing ${root} failed: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`, { cause: err })
  }
  const problem = distProblem(root)
  if (problem !== undefined) throw new WispError('WISP_BAD_CONFIG', `cannot pack ${root}: ${problem}`)
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
