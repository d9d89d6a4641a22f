import { buildSync } from 'esbuild'
import { fileURLToPath } from 'node:url'

let cached: string | undefined

/**
 * The isolate-side prelude as one script, bundled from sandbox.isolate.ts once per process.
 * Bundling (rather than `.toString()` of host functions) keeps tsx/esbuild's `__name`
 * helpers out of the isolate, where they would not exist.
 */
export const sandboxSource = (): string => {
  if (cached !== undefined) return cached
  const out = buildSync({
    entryPoints: [fileURLToPath(new URL('./sandbox.isolate.ts', import.meta.url))],
    bundle: true,
    format: 'iife',
    target: 'es2022',
    platform: 'neutral',
    keepNames: false,
    minify: false,
    write: false,
    logLevel: 'silent'
  })
  const file = out.outputFiles[0]
  if (file === undefined) throw new Error('sandbox bundle produced no output')
  cached = file.text
  return cached
}
