// Provenance of a benchmark result: which code it measured, how it was run, when and where.
// Every bench/results/*.json carries this block, so a figure can be traced to a commit and a
// command, and `npm run bench:stale` can tell when the measured sources have changed since.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SOURCES } from './sources.js'

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

export interface RunMeta {
  /** Commit checked out when the benchmark ran (null outside a git checkout). */
  git_sha: string | null
  /** True when tracked files differed from that commit (the figures measured uncommitted code). */
  git_dirty: boolean | null
  /** The command line that produced the result, relative to the repository root. */
  command: string
  date: string
  node: string
  cpus: number
  cpu_model: string
  /** sha256 over the measured sources (see sources.ts) as they were when the benchmark ran. */
  sources_sha256: string | null
}

const git = (args: string[]): string | null => {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return null
  }
}

/** Tracked files matching a result's source pathspecs (git glob pathspecs), sorted. */
export const sourceFiles = (name: string): string[] | null => {
  const specs = SOURCES[name]
  if (specs === undefined) return null
  const out = git(['ls-files', '-z', '--', ...specs.map((s) => `:(glob)${s}`)])
  return out === null ? null : out.split('\0').filter((f) => f !== '').sort()
}

/** One digest over the paths and contents of a result's measured sources, as on disk now. */
export const sourcesDigest = (name: string): string | null => {
  const files = sourceFiles(name)
  if (files === null) return null
  const h = createHash('sha256')
  for (const f of files) {
    h.update(f).update('\0')
    try { h.update(readFileSync(join(ROOT, f))) } catch { h.update('(missing)') }
    h.update('\0')
  }
  return h.digest('hex')
}

const commandLine = (): string => {
  const script = process.argv[1] === undefined ? '' : relative(ROOT, process.argv[1])
  const env = Object.entries(process.env).filter(([k]) => k.startsWith('WISP_BENCH')).map(([k, v]) => `${k}=${String(v)}`)
  return [...env, 'node', ...process.execArgv, script, ...process.argv.slice(2)].filter((x) => x !== '').join(' ')
}

/** Provenance for the result `name` (a key of SOURCES), taken when the result is written. */
export const runMeta = (name: string): RunMeta => {
  // Results written earlier in the same `npm run bench` are not a change to what is measured.
  const status = git(['status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)bench/results'])
  return {
    git_sha: git(['rev-parse', 'HEAD']),
    git_dirty: status === null ? null : status !== '',
    command: commandLine(),
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model.trim() ?? 'unknown',
    sources_sha256: sourcesDigest(name)
  }
}
