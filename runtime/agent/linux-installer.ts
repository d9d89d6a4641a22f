import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { WispError } from '../shared/errors.js'
import { versionNameFault } from '../shared/version-name.js'
import type { Installer } from './installer.js'

/** How long an install may take on a small board (npm ci compiles native modules). */
const INSTALL_TIMEOUT_MS = 2 * 60 * 60_000
const PACKAGE = /^(https?:\/\/\S+|\/[^\n\r]*)$/

export interface LinuxInstallerOptions {
  readonly timeoutMs?: number
  readonly pollMs?: number
  readonly exit?: (code: number) => void
}

/**
 * The installer of a flashed board. The agent cannot write the install folder (it runs
 * unprivileged, the system read-only), so it writes a `request` into `dir`, its own state
 * folder, and waits for the `result` that root's wisp-upgrade.service writes (started by a
 * systemd path unit on the request; runtime/flash/upgrade-script.ts). Then it exits and
 * systemd (Restart=always) starts the version the install folder now points at.
 */
export class LinuxInstaller implements Installer {
  private readonly timeoutMs: number
  private readonly pollMs: number
  private readonly exit: (code: number) => void
  constructor (private readonly dir: string, o: LinuxInstallerOptions = {}) {
    this.timeoutMs = o.timeoutMs ?? INSTALL_TIMEOUT_MS
    this.pollMs = o.pollMs ?? 1000
    this.exit = o.exit ?? ((code) => process.exit(code))
  }

  async install (version: string, pkg: string | undefined): Promise<void> {
    if (pkg === undefined) throw new WispError('WISP_BAD_CONFIG', 'upgrade of a flashed board needs a package (a packed wisp tarball path or URL)')
    if (versionNameFault(version) !== null) throw new WispError('WISP_BAD_CONFIG', `install of wisp ${JSON.stringify(version).slice(0, 80)} failed: bad version name`)
    if (!PACKAGE.test(pkg)) throw new WispError('WISP_BAD_CONFIG', `install of wisp ${version} failed: the package must be an absolute path or an http(s) URL`)
    const result = await this.ask(['op=install', `version=${version}`, `package=${pkg}`])
    if (result !== 'ok') throw new WispError('WISP_BAD_CONFIG', `install of wisp ${version} failed: ${result.replace(/^error: /, '')}`)
  }

  async rollback (): Promise<boolean> {
    const result = await this.ask(['op=rollback'])
    if (result === 'none') return false
    if (result !== 'ok') throw new WispError('WISP_BAD_CONFIG', `rollback failed: ${result.replace(/^error: /, '')}`)
    return true
  }

  restart (): void { this.exit(1) }

  /** Writes a request (atomically, so the service never reads half of one) and waits for its answer. */
  private async ask (lines: readonly string[]): Promise<string> {
    const id = randomBytes(8).toString('hex')
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    const tmp = join(this.dir, 'request.new')
    await writeFile(tmp, [`id=${id}`, ...lines, ''].join('\n'), { mode: 0o600 })
    await rename(tmp, join(this.dir, 'request'))
    const deadline = Date.now() + this.timeoutMs
    for (;;) {
      const text = await readFile(join(this.dir, 'result'), 'utf8').catch(() => '')
      if (text.startsWith(`id=${id}\n`)) return /^result=(.*)$/m.exec(text)?.[1] ?? 'error: an empty answer'
      if (Date.now() > deadline) throw new WispError('WISP_BAD_CONFIG', `wisp-upgrade.service did not answer within ${Math.round(this.timeoutMs / 1000)} s (is wisp-upgrade.path enabled?)`)
      await new Promise((resolve) => setTimeout(resolve, this.pollMs))
    }
  }
}
