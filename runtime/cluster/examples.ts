import { readFileSync, readdirSync, existsSync } from 'node:fs'
import { join, basename } from 'node:path'
import { readJsonFile } from '../../boards/index.js'
import type { Manifest } from '../protocol/messages.js'
import { PACKAGE_ROOT } from '../shared/package-root.js'
import { buildManifest, type DeployOptions } from '../protocol/manifest.js'

export const EXAMPLES_DIR = join(PACKAGE_ROOT, 'examples/functions/')

/** Every `<name>.js` in a folder, with deploy options from an optional `<name>.json` beside it. */
export const readFunctionsDir = (dir = EXAMPLES_DIR): Array<{ manifest: Manifest, code: string }> =>
  readdirSync(dir).filter((f) => f.endsWith('.js')).sort().map((f) => {
    const name = basename(f, '.js')
    const code = readFileSync(join(dir, f), 'utf8')
    const side = join(dir, `${name}.json`)
    const opts = existsSync(side) ? readJsonFile(side, `deploy options of ${name}`) as DeployOptions : {}
    return { manifest: buildManifest(name, code, opts), code }
  })
