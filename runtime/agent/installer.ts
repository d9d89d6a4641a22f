/** What a board's `upgrade` and `rollback` controls do to the wisp it runs (linux-installer.ts, sim-installer.ts). */
export interface Installer {
  /** Installs `version` (from `pkg`, a packed wisp tarball's path or URL, when given) beside the current one and makes it the next to start; throws a WispError on failure. */
  install: (version: string, pkg: string | undefined) => Promise<void>
  /** Makes the previous install current again; false when there is none to go back to. */
  rollback: () => Promise<boolean>
  /** Ends this board process so that its supervisor (systemd, or `wisp start`) starts the new current one. */
  restart: () => void
}
