/** Where a flashed board's wisp lives (a symlink the upgrade installer switches); written by flash, used by the board. */
export const INSTALL_DIR = '/opt/wisp'
