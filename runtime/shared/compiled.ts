import { join } from 'node:path'
import { distProblem } from './build-stamp.js'
import { WispError } from './errors.js'
import { PACKAGE_ROOT, RUNNING_FROM_SOURCE } from './package-root.js'

let checked = false

/**
 * The compiled file that a process is started from, or that is read as a script: always in
 * dist/, never TypeScript, so a board runs without tsx. `source` is the path of its source
 * from the package root with .js for .ts (e.g. 'runtime/agent/executor-host.js'). Run from
 * the sources (tests), a missing or stale dist/ is a WISP_BAD_CONFIG error, not old code.
 */
export const compiledFile = (source: string): string => {
  if (RUNNING_FROM_SOURCE && !checked) {
    const problem = distProblem(PACKAGE_ROOT)
    if (problem !== undefined) throw new WispError('WISP_BAD_CONFIG', problem)
    checked = true
  }
  return join(PACKAGE_ROOT, 'dist', source)
}
