import { MAX_VERSIONS, type History, type Version } from '../protocol/admin.js'
import type { Manifest } from '../protocol/messages.js'
import { WispError } from '../shared/errors.js'

/** A new deploy: the next version number, made current; only the newest `max` versions are kept. */
export const addVersion = (h: History | undefined, fn: string, m: Manifest, at: number, by: string | null, max = MAX_VERSIONS): History => {
  const prev = h?.versions ?? []
  const number = (prev.at(-1)?.version ?? 0) + 1
  const v: Version = { version: number, sha256: m.sha256, size: m.size, at, by, manifest: m }
  return { fn, current: number, versions: [...prev, v].slice(-max) }
}

/**
 * The version `wisp rollback` makes current: `to` when given, else the newest one older than
 * the current. A version not kept (or none older) is WISP_BAD_CONFIG naming what is kept.
 */
export const rollbackTarget = (h: History | undefined, fn: string, to?: number): Version => {
  if (h === undefined || h.versions.length === 0) throw new WispError('WISP_UNKNOWN_FUNCTION', `no function "${fn}" is deployed`)
  const kept = h.versions.map((v) => v.version).join(', ')
  if (to !== undefined) {
    const v = h.versions.find((x) => x.version === to)
    if (v === undefined) throw new WispError('WISP_BAD_CONFIG', `function ${fn} has no version ${to}; the gateway keeps versions ${kept}`)
    return v
  }
  const older = h.versions.filter((x) => x.version < h.current).at(-1)
  if (older === undefined) throw new WispError('WISP_BAD_CONFIG', `function ${fn} has no version older than ${h.current} to roll back to (kept: ${kept})`)
  return older
}

/** The history with `version` current. */
export const makeCurrent = (h: History, version: number): History => ({ ...h, current: version })

/** The current version's entry, if any. */
export const currentVersion = (h: History | undefined): Version | undefined => h?.versions.find((v) => v.version === h.current)

/** Whether any kept version references the code `sha`. */
export const historyReferences = (h: History, sha: string): boolean => h.versions.some((v) => v.sha256 === sha)
