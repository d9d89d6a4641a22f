import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join, relative, sep } from 'node:path'

/** Folders whose TypeScript is compiled into dist/ (the isolate-side *.isolate.ts is bundled). */
const SOURCE_DIRS = ['runtime', 'boards', 'node-firmware-bridge']
/** Files besides them that change what the build emits. */
const BUILD_FILES = ['tsconfig.json', 'tsconfig.build.json', 'scripts/build.js']
export const STAMP_FILE = 'dist/build-stamp.json'
/** The file every checkout has and no installed package ships: sources present means a checkout. */
const SOURCE_MARK = 'runtime/cli/main.ts'

/** What a build was made from: how many source files, their newest change, and a hash of their contents. */
export interface BuildStamp { readonly files: number, readonly hash: string, readonly builtAtMs: number }

const tsFiles = (dir: string): string[] => {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : tsFiles(p)
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : []
  })
}

/** The build's inputs under root, sorted, as absolute paths. */
export const sourceFiles = (root: string): string[] =>
  [...SOURCE_DIRS.flatMap((d) => tsFiles(join(root, d))), ...BUILD_FILES.map((f) => join(root, f)).filter((f) => existsSync(f))].sort()

/** A hash over the inputs' paths and contents. */
export const hashSources = (root: string, files = sourceFiles(root)): string => {
  const h = createHash('sha256')
  for (const f of files) {
    h.update(relative(root, f).split(sep).join('/')).update('\0')
    h.update(readFileSync(f)).update('\0')
  }
  return h.digest('hex')
}

/** Records what dist/ was built from; `startedAtMs` is when the build began reading its sources. */
export const writeStamp = (root: string, startedAtMs: number): BuildStamp => {
  const files = sourceFiles(root)
  const stamp: BuildStamp = { files: files.length, hash: hashSources(root, files), builtAtMs: startedAtMs }
  writeFileSync(join(root, STAMP_FILE), JSON.stringify(stamp) + '\n')
  return stamp
}

const readStamp = (root: string): BuildStamp | undefined => {
  try {
    const s = JSON.parse(readFileSync(join(root, STAMP_FILE), 'utf8')) as Partial<BuildStamp>
    return typeof s.files === 'number' && typeof s.hash === 'string' && typeof s.builtAtMs === 'number' ? s as BuildStamp : undefined
  } catch { return undefined }
}

/**
 * Why dist/ under root cannot be run, or undefined if it can. An installed package (no
 * TypeScript sources) needs only a stamp; a checkout needs one made from the sources as they
 * are now. Cheap when nothing changed: the contents are hashed only if a file is newer than the build.
 */
export const distProblem = (root: string): string | undefined => {
  const stamp = readStamp(root)
  if (stamp === undefined) return `${STAMP_FILE} is missing: run \`npm run build\` (dist/ holds the compiled JavaScript that wisp runs)`
  if (!existsSync(join(root, SOURCE_MARK))) return undefined
  const files = sourceFiles(root)
  const stale = `dist/ is older than the sources: run \`npm run build\``
  if (files.length !== stamp.files) return stale
  const newest = Math.max(...files.map((f) => statSync(f).mtimeMs))
  if (newest <= stamp.builtAtMs) return undefined
  return hashSources(root, files) === stamp.hash ? undefined : stale
}
