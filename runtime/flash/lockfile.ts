import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { WispError } from '../shared/errors.js'
import { PROJECT_ROOT } from './pack.js'

/** The file first boot installs from with `npm ci`; `npm pack` never ships it, so the bundle carries it. */
export const LOCKFILE = 'package-lock.json'

const bad = (msg: string): WispError => new WispError('WISP_BAD_CONFIG', msg)

const Deps = z.record(z.string(), z.string()).default({})
const DepSets = { dependencies: Deps, devDependencies: Deps, optionalDependencies: Deps }
const Manifest = z.object({ name: z.string(), version: z.string(), ...DepSets })
// npm's lockfile v2/v3 (docs.npmjs.com, "package-lock.json"): `packages[""]` is the root package.
const Lock = z.object({
  name: z.string(),
  lockfileVersion: z.number().int().min(2),
  packages: z.object({ '': z.object(DepSets) }).passthrough()
})

const parse = <T>(schema: z.ZodType<T>, text: string, what: string): T => {
  let json: unknown
  try { json = JSON.parse(text) } catch { throw bad(`${what} is not JSON`) }
  const r = schema.safeParse(json)
  if (!r.success) throw bad(`${what} is not what npm writes: ${r.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`)
  return r.data
}

/** package.json of the package to ship: this project's, or the one inside a `--package` tarball. */
const manifestText = (packageFile: string | undefined): string => {
  if (packageFile === undefined) return readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')
  try {
    return execFileSync('tar', ['-xzOf', packageFile, 'package/package.json'], { encoding: 'utf8', maxBuffer: 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] })
  } catch {
    throw bad(`--package ${packageFile} has no package/package.json; give a tarball made by npm pack`)
  }
}

const same = (a: Record<string, string>, b: Record<string, string>): boolean =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v)

/**
 * Finds the lockfile to ship (`--lockfile`, else this project's) and checks it was written for
 * the package's dependencies, the test `npm ci` makes on the board, hours later, so it fails here.
 */
export const checkLockfile = (lockfile: string | undefined, packageFile: string | undefined): string => {
  const file = lockfile ?? join(PROJECT_ROOT, LOCKFILE)
  if (!existsSync(file)) throw bad(`no lockfile at ${file}; give --lockfile FILE (the package-lock.json the package was packed with)`)
  const manifest = parse(Manifest, manifestText(packageFile), packageFile === undefined ? 'package.json' : `package.json in ${packageFile}`)
  const lock = parse(Lock, readFileSync(file, 'utf8'), `lockfile ${file}`)
  const root = lock.packages['']
  const inSync = (Object.keys(DepSets) as Array<keyof typeof DepSets>).every((k) => same(root[k], manifest[k]))
  if (lock.name !== manifest.name || !inSync) {
    throw bad(`lockfile ${file} does not match the dependencies of ${manifest.name}@${manifest.version}; npm ci would refuse it on the board`)
  }
  return file
}
