/**
 * The rule for a wisp version name an upgrade installs (a folder name beside the flashed
 * install): the one source of both the agent's check (TypeScript) and the flash-time upgrade
 * script's (POSIX sh), so the two cannot drift apart.
 */

/** 1 to 64 characters of [0-9A-Za-z.+-], not starting with '.', '+' or '-'. The same text is a JavaScript regex and a POSIX extended one (grep -E). */
export const VERSION_NAME_PATTERN = '^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$'
/** Names the upgrade script keeps for itself (the flashed install, the rollback link). */
export const RESERVED_VERSION_NAMES: readonly string[] = ['flashed', 'previous']

const VERSION_NAME = new RegExp(VERSION_NAME_PATTERN)

/** Why `name` may not be installed as a wisp version ('bad' or 'reserved'), or null when it may. */
export const versionNameFault = (name: string): 'bad' | 'reserved' | null =>
  !VERSION_NAME.test(name) ? 'bad' : RESERVED_VERSION_NAMES.includes(name) ? 'reserved' : null

/**
 * The same check in POSIX sh, for a script: refuses the value of the shell variable `variable`
 * by calling the function `fail` with a message, exactly where `versionNameFault` finds a fault.
 * grep reads lines, so a name holding a newline is refused apart (`wc -l` counts none in a good
 * one); the C locale keeps grep's letter ranges to ASCII, as in JavaScript.
 */
export const shellVersionNameCheck = (variable: string, fail: string): string => {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(fail)) throw new Error('shellVersionNameCheck: bad shell name')
  const v = `"$${variable}"`
  return [
    `{ printf '%s\\n' ${v} | LC_ALL=C grep -Eq '${VERSION_NAME_PATTERN}' && [ "$(printf '%s' ${v} | wc -l)" -eq 0 ]; } || ${fail} "bad version name"`,
    `case ${v} in ${RESERVED_VERSION_NAMES.join('|')}) ${fail} "version name $${variable} is reserved" ;; esac`
  ].join('\n')
}
