import { fileURLToPath } from 'node:url'

/** The `wisp` command as a user runs it: bin/wisp.js, which runs the compiled CLI in dist/. */
export const WISP_BIN = fileURLToPath(new URL('../../bin/wisp.js', import.meta.url))

/** Node's arguments for `wisp <args>`, as the systemd unit and `npm start` give them. */
export const wispArgs = (args: readonly string[], bin = WISP_BIN): string[] => [bin, ...args]
