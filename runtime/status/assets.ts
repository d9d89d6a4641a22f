import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { PACKAGE_ROOT } from '../shared/package-root.js'

export interface Asset { readonly body: Buffer, readonly type: string }

// The pages are not compiled: they stay beside the sources, also in an installed package.
const PAGES = join(PACKAGE_ROOT, 'runtime/status/pages/')
const require = createRequire(import.meta.url)

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml'
}

const typeOf = (file: string): string => TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream'

const load = (file: string): Asset => ({ body: readFileSync(file), type: typeOf(file) })

/**
 * The page, its scripts and styles, and uPlot straight from its npm package (no CDN: a
 * board on an isolated network must still draw its chart). Read once; they are small.
 */
export const loadAssets = (kind: 'board' | 'cluster'): ReadonlyMap<string, Asset> => {
  const page = (name: string): Asset => load(PAGES + name)
  return new Map<string, Asset>([
    ['/', page(`${kind}.html`)],
    ['/assets/style.css', page('style.css')],
    ['/assets/common.js', page('common.js')],
    [`/assets/${kind}.js`, page(`${kind}.js`)],
    ...(kind === 'cluster' ? [['/assets/functions.js', page('functions.js')] as const] : []),
    ['/assets/icon.svg', page('icon.svg')],
    ['/assets/uPlot.iife.min.js', load(require.resolve('uplot/dist/uPlot.iife.min.js'))],
    ['/assets/uPlot.min.css', load(require.resolve('uplot/dist/uPlot.min.css'))]
  ])
}
