import { execFile } from 'node:child_process'
import { mkdir, readlink, rename, rm, symlink, writeFile, lstat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { WispError } from '../shared/errors.js'
import type { Installer } from './installer.js'

const run = promisify(execFile)

/** How long one install step (download, unpack, npm ci) may take on a small board. */
const STEP_TIMEOUT_MS = 60 * 60_000

/**
 * The installer of a flashed board: `root` (e.g. /opt/wisp, what the systemd unit runs) is a
 * symlink to `<root>.versions/<version>`. An upgrade downloads the packed tarball, unpacks it
 * into a new folder, runs `npm ci --omit=dev` there, switches the symlink and exits; systemd
 * (Restart=always) starts the new version. The previous folder is kept for `rollback`.
 */
export class LinuxInstaller implements Installer {
  private readonly versions: string
  constructor (private readonly root: string, private readonly exit: (code: number) => void = (code) => process.exit(code)) {
    this.versions = `${root}.versions`
  }

  async install (version: string, pkg: string | undefined): Promise<void> {
    if (pkg === undefined) throw new WispError('WISP_BAD_CONFIG', 'upgrade of a flashed board needs a package (a packed wisp tarball path or URL)')
    const dir = join(this.versions, version)
    const work = `${dir}.partial`
    try {
      await rm(work, { recursive: true, force: true })
      await mkdir(work, { recursive: true })
      const tarball = join(work, 'wisp.tgz')
      if (/^https?:\/\//.test(pkg)) {
        const res = await fetch(pkg, { signal: AbortSignal.timeout(STEP_TIMEOUT_MS) })
        if (!res.ok) throw new Error(`GET ${pkg}: HTTP ${res.status}`)
        await writeFile(tarball, Buffer.from(await res.arrayBuffer()))
      } else {
        await run('cp', [pkg, tarball], { timeout: STEP_TIMEOUT_MS })
      }
      await run('tar', ['-xzf', tarball, '-C', work, '--strip-components=1'], { timeout: STEP_TIMEOUT_MS })
      await rm(tarball)
      await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: work, timeout: STEP_TIMEOUT_MS })
      await rm(dir, { recursive: true, force: true })
      await rename(work, dir)
      await this.adoptRoot()
      await this.point(dir)
    } catch (err) {
      await rm(work, { recursive: true, force: true }).catch(() => {})
      throw new WispError('WISP_BAD_CONFIG', `install of wisp ${version} failed: ${(err as Error).message}`)
    }
  }

  async rollback (): Promise<boolean> {
    const prev = await readlink(join(this.versions, 'previous')).catch(() => null)
    if (prev === null) return false
    await this.point(prev)
    await rm(join(this.versions, 'previous'), { force: true })
    return true
  }

  restart (): void { this.exit(1) }

  /** A root flashed as a plain folder becomes `<root>.versions/flashed`, and root a symlink to it. */
  private async adoptRoot (): Promise<void> {
    await mkdir(this.versions, { recursive: true })
    const st = await lstat(this.root).catch(() => null)
    if (st === null || st.isSymbolicLink()) return
    const flashed = join(this.versions, 'flashed')
    await rename(this.root, flashed)
    await symlink(flashed, this.root)
  }

  /** Points root at `dir` (atomically, by renaming a new symlink over it) and remembers the one before. */
  private async point (dir: string): Promise<void> {
    const before = await readlink(this.root).catch(() => null)
    const tmp = join(dirname(this.root), `.${basename(this.root)}.next`)
    await rm(tmp, { force: true })
    await symlink(dir, tmp)
    await rename(tmp, this.root)
    await rm(join(this.versions, 'previous'), { force: true })
    if (before !== null && before !== dir) await symlink(before, join(this.versions, 'previous'))
  }
}
