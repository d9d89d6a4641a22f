import { fileURLToPath } from 'node:url'

/** The `wisp` command as a user runs it: bin/wisp.js, which runs the compiled CLI in dist/. */
export const WISP_BIN = fileURLToPath(new URL('../../bin/wisp.js', import.meta.url))

/** Node's arguments for `wisp <args>` (with the flag isolated-vm needs, as the systemd unit passes it). */
export const wispArgs = (args: readonly string[], bin = WISP_BIN): string[] => ['--no-node-snapshot', bin, ...args]
