import type { FunctionListing, FunctionRow } from '../protocol/admin.js'
import type { Manifest } from '../protocol/messages.js'
import type { FnStats } from './fn-stats.js'
import { redactSecrets } from './redact.js'
import type { Registry } from './registry.js'

export interface ListingSources {
  readonly registry: Registry
  readonly stats: FnStats
  /** A function's secrets, only to redact their values from what is shown. */
  readonly env: (fn: string) => Readonly<Record<string, string>> | undefined
}

/** One function's listing (`wisp ls`): manifest limits and triggers, current version and its figures. */
export const functionListing = (d: ListingSources, m: Manifest): FunctionListing => {
  const h = d.registry.history(m.name)
  return {
    name: m.name,
    version: h?.current ?? null,
    size: m.size,
    sha256: m.sha256,
    memory_mb: m.memory_mb,
    timeout_ms: m.timeout_ms,
    concurrency: m.concurrency,
    isolation: m.isolation,
    triggers: m.triggers ?? null,
    publishes: m.publishes ?? [],
    versions_kept: h?.versions.length ?? 0,
    stats: d.stats.view(m.name)
  }
}

/** The listing with its newest failures, secret values redacted (`wisp describe`, the cluster page). */
export const functionRow = (d: ListingSources, m: Manifest): FunctionRow => {
  const env = d.env(m.name)
  return {
    ...functionListing(d, m),
    recent_errors: d.stats.recentErrors(m.name).map((e) => ({ ...e, message: redactSecrets(e.message, env) }))
  }
}

/** Every deployed function that is not being removed, by name. */
export const listedManifests = (registry: Registry): Manifest[] =>
  registry.list().filter((m) => !registry.isDraining(m.name)).sort((a, b) => a.name.localeCompare(b.name))
