import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Whether this code runs from its TypeScript sources (tests, through tsx) or compiled, from
 * dist/ (bin/wisp.js, boards, isolate hosts). Compiled files end in .js.
 */
export const RUNNING_FROM_SOURCE = import.meta.url.endsWith('.ts')

/**
 * The package root, in a checkout or an installed copy: this file is runtime/shared/package-root.ts,
 * or dist/runtime/shared/package-root.js once compiled.
 */
export const PACKAGE_ROOT = fileURLToPath(new URL(RUNNING_FROM_SOURCE ? '../../' : '../../../', import.meta.url))

/** This package's version (package.json), or undefined when it cannot be read. */
export const packageVersion = (): string | undefined => {
  try {
    const v = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: unknown }).version
    return typeof v === 'string' ? v : undefined
  } catch { return undefined }
}
