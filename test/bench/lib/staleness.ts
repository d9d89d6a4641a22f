// Which committed results no longer describe the code: a result is stale when the digest of
// its measured sources (lib/sources.ts) differs from the one recorded when it ran, or when it
// recorded none (results older than the provenance block).
import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, sourceFiles, sourcesDigest } from './meta.js'
import { SOURCES } from './sources.js'

export interface Staleness {
  file: string
  name: string
  stale: boolean
  reason: string
  /** Measured files changed since the result's commit (when that commit is known here). */
  changed: string[]
}

interface Recorded { name?: string, git_sha?: string | null, git_dirty?: boolean | null, sources_sha256?: string | null }

const changedSince = (sha: string, name: string): string[] => {
  const specs = SOURCES[name] ?? []
  try {
    const out = execFileSync('git', ['diff', '--name-only', sha, '--', ...specs.map((s) => `:(glob)${s}`)], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    return out.split('\n').filter((f) => f !== '')
  } catch {
    return []
  }
}

export const staleness = (dir = join(ROOT, 'bench/results')): Staleness[] => {
  const out: Staleness[] = []
  for (const file of readdirSync(dir).filter((x) => x.endsWith('.json')).sort()) {
    const doc = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Recorded
    const name = doc.name ?? file.replace(/\.json$/, '')
    const base = { file, name, changed: [] as string[] }
    if (SOURCES[name] === undefined || sourceFiles(name) === null) {
      out.push({ ...base, stale: true, reason: 'no measured sources are mapped for this result (lib/sources.ts)' })
    } else if (typeof doc.sources_sha256 !== 'string') {
      out.push({ ...base, stale: true, reason: 'recorded no source digest (measured before provenance was recorded)' })
    } else if (doc.sources_sha256 !== sourcesDigest(name)) {
      const changed = typeof doc.git_sha === 'string' ? changedSince(doc.git_sha, name) : []
      out.push({ ...base, stale: true, changed, reason: `measured sources changed since ${typeof doc.git_sha === 'string' ? doc.git_sha.slice(0, 12) : 'the run'}${doc.git_dirty === true ? ' (dirty tree)' : ''}` })
    } else {
      out.push({ ...base, stale: false, reason: `up to date with its measured sources${doc.git_dirty === true ? ' (measured on a dirty tree)' : ''}` })
    }
  }
  return out
}
