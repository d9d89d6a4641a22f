import { existsSync, readFileSync, statSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join, relative } from 'node:path'
import type { Message } from 'esbuild'
import { WispError } from '../shared/errors.js'

const BUILTINS = new Set(builtinModules.filter((m) => !m.startsWith('_')))
const isBuiltin = (spec: string): boolean => spec.startsWith('node:') || BUILTINS.has(spec.split('/')[0] ?? spec)

/** The module a function folder starts from: package.json `module` or `main`, else index.js or index.mjs. */
export const entryOf = (dir: string): string => {
  const pkgFile = join(dir, 'package.json')
  if (existsSync(pkgFile)) {
    let pkg: { module?: unknown, main?: unknown }
    try { pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as typeof pkg } catch (err) { throw new WispError('WISP_BAD_CONFIG', `${pkgFile} is not valid JSON: ${(err as Error).message}`) }
    const main = typeof pkg.module === 'string' ? pkg.module : typeof pkg.main === 'string' ? pkg.main : undefined
    if (main !== undefined) {
      const f = join(dir, main)
      if (!existsSync(f) || !statSync(f).isFile()) throw new WispError('WISP_BAD_CONFIG', `${pkgFile} names ${main} as its entry, which is not a file`)
      return f
    }
  }
  for (const f of ['index.js', 'index.mjs']) if (existsSync(join(dir, f))) return join(dir, f)
  throw new WispError('WISP_BAD_CONFIG', `${dir} has no entry module: give package.json a "main" (or "module"), or add index.js`)
}

/**
 * Bundles a function folder (an ES module and the npm packages it imports from its
 * node_modules) into one ES module with esbuild, offline. Functions run in a bare V8 isolate:
 * an import of a Node built-in (fs, node:crypto, …) is WISP_BAD_CODE naming it and the file.
 */
export const bundleDir = async (name: string, dir: string): Promise<string> => {
  const entry = entryOf(dir)
  const { build } = await import('esbuild')
  const builtins: string[] = []
  try {
    const out = await build({
      entryPoints: [entry],
      absWorkingDir: dir,
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      target: 'es2022',
      logLevel: 'silent',
      plugins: [{
        name: 'wisp-no-node-builtins',
        setup (b) {
          b.onResolve({ filter: /.*/ }, (a) => {
            if (a.kind === 'entry-point' || !isBuiltin(a.path)) return undefined
            builtins.push(`"${a.path}" (imported by ${relative(dir, a.importer) || a.importer})`)
            return { errors: [{ text: `Node built-in "${a.path}"` }] }
          })
        }
      }]
    })
    return out.outputFiles[0]?.text ?? ''
  } catch (err) {
    if (builtins.length > 0) {
      throw new WispError('WISP_BAD_CODE', `${name}: imports the Node built-in module ${builtins.join(', ')}; functions run in a V8 isolate without Node's modules`)
    }
    const first = (err as { errors?: Message[] }).errors?.[0]
    const where = first?.location == null ? '' : ` (${first.location.file}:${first.location.line}:${first.location.column})`
    throw new WispError('WISP_BAD_CODE', `${name}: ${first?.text ?? (err as Error).message}${where}`)
  }
}
