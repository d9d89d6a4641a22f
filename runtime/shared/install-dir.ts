/** Where a flashed board's wisp lives (a symlink the upgrade service switches); written by flash, used by the board. */
export const INSTALL_DIR = '/opt/wisp'
/**
 * Where a flashed board's agent asks for an upgrade or a rollback (a `request` file) and reads the
 * answer (`result`): root's wisp-upgrade.service, started by a systemd path unit, does the install.
 */
export const UPGRADE_DIR = '/var/lib/wisp/upgrade'
