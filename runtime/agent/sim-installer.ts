import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { WispError } from '../shared/errors.js'
import type { Installer } from './installer.js'

/** The exit code of a board process that ends to restart on another version (not 0: its supervisor restarts it). */
export const RESTART_EXIT_CODE = 75

interface Installed { current: string, previous?: string }

/**
 * The installer of a simulated board (`wisp start`): "installing" records the version in the
 * board's data dir, and the restarted process announces it. A file `upgrade-fails` in the data
 * dir makes the install fail (a broken package), to rehearse a rollback.
 */
export class SimInstaller implements Installer {
  private readonly file: string
  /** `base`: the version of the package this board runs before any upgrade. */
  constructor (private readonly dataDir: string, private readonly base: string | undefined, private readonly exit: (code: number) => void = (code) => process.exit(code)) {
    this.file = join(dataDir, 'wisp-version.json')
  }

  /** The version this board runs: the last installed, or the package's before any. */
  version (): string | undefined { return this.read()?.current ?? this.base }

  async install (version: string): Promise<void> {
    if (existsSync(join(this.dataDir, 'upgrade-fails'))) throw new WispError('WISP_BAD_CONFIG', `simulated install of wisp ${version} failed`)
    const prev = this.version()
    this.write(prev === undefined ? { current: version } : { current: version, previous: prev })
  }

  async rollback (): Promise<boolean> {
    const cur = this.read()
    if (cur?.previous === undefined) return false
    this.write({ current: cur.previous })
    return true
  }

  restart (): void { this.exit(RESTART_EXIT_CODE) }

  private read (): Installed | undefined {
    try { return JSON.parse(readFileSync(this.file, 'utf8')) as Installed } catch { return undefined }
  }

  private write (i: Installed): void {
    writeFileSync(`${this.file}.new`, JSON.stringify(i) + '\n')
    renameSync(`${this.file}.new`, this.file)
  }
}
