import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { WispError } from '../runtime/shared/errors.js'
import { deepFreeze } from '../runtime/shared/freeze.js'
import { PACKAGE_ROOT } from '../runtime/shared/package-root.js'
import { firstIssue } from '../runtime/shared/zod-issue.js'
import { BoardConfigSchema, ProfileSchema, type BoardConfig, type BoardProfile } from './schema.js'

/** The profiles are JSON, read where they are in the package (not copied into dist/). */
export const PROFILES_DIR = join(PACKAGE_ROOT, 'boards/profiles/')

/** Validates a parsed value against a schema, or throws WISP_BAD_CONFIG naming the field. */
export const validateConfig = <S extends z.ZodType>(schema: S, raw: unknown, what: string): Readonly<z.infer<S>> => {
  const r = schema.safeParse(raw)
  if (!r.success) {
    const { where, message } = firstIssue(r.error)
    throw new WispError('WISP_BAD_CONFIG', `${what}: field "${where}": ${message}`)
  }
  return deepFreeze(r.data)
}

export const readJsonFile = (file: string, what: string): unknown => {
  let text: string
  try { text = readFileSync(file, 'utf8') } catch (err) {
    throw new WispError('WISP_BAD_CONFIG', `${what}: cannot read ${file}: ${(err as Error).message}`)
  }
  try { return JSON.parse(text) } catch (err) {
    throw new WispError('WISP_BAD_CONFIG', `${what}: ${file} is not valid JSON: ${(err as Error).message}`)
  }
}

export const parseProfile = (raw: unknown, what = 'profile'): BoardProfile => validateConfig(ProfileSchema, raw, what)

/** Every profile in boards/profiles, by name. */
export const loadProfiles = (dir = PROFILES_DIR): ReadonlyMap<string, BoardProfile> => {
  const out = new Map<string, BoardProfile>()
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const p = parseProfile(readJsonFile(join(dir, f), `profile ${f}`), `profile ${f}`)
    if (`${p.name}.json` !== f) throw new WispError('WISP_BAD_CONFIG', `profile ${f}: field "name": must match the file name`)
    out.set(p.name, p)
  }
  return out
}

export const getProfile = (name: string, profiles = loadProfiles()): BoardProfile => {
  const p = profiles.get(name)
  if (p === undefined) throw new WispError('WISP_BAD_CONFIG', `unknown profile "${name}"; known: ${[...profiles.keys()].join(', ')}`)
  return p
}

/** A board process's config file (`wisp board --config F`). */
export const loadBoardConfig = (file: string): BoardConfig =>
  validateConfig(BoardConfigSchema, readJsonFile(file, 'board config'), `board config ${file}`)
