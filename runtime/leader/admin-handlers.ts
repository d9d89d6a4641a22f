import type { AdminRequest, History, LogLine } from '../protocol/admin.js'
import type { Manifest } from '../protocol/messages.js'
import { WispError } from '../shared/errors.js'
import type { FnStats } from './fn-stats.js'
import { functionListing, functionRow, listedManifests, type ListingSources } from './fn-listing.js'
import type { LogRing } from './log-ring.js'
import type { Registry } from './registry.js'
import type { SecretStorage } from './secret-storage.js'
import { currentVersion } from './versions.js'
import type { Progress, RolloutReport, RolloutRequest } from './upgrade.js'

export interface AdminDeps {
  readonly registry: Registry
  readonly stats: FnStats
  readonly logs: LogRing
  readonly secrets: SecretStorage
  /** Resolves once no invocation of `fn` is in flight at the leader. */
  readonly idle: (fn: string) => Promise<void>
  /** Runs a fleet upgrade, reporting each step. */
  readonly upgrade: (r: RolloutRequest, progress: (p: Progress) => void) => Promise<RolloutReport>
  /** Publishes one progress line of this request. */
  readonly progress: (p: unknown) => void
}

type Op<K extends AdminRequest['op']> = Extract<AdminRequest, { op: K }>

const history = (d: AdminDeps, fn: string): History => {
  const h = d.registry.history(fn)
  if (h === undefined || d.registry.get(fn) === undefined) throw new WispError('WISP_UNKNOWN_FUNCTION', `no function "${fn}" is deployed`)
  return h
}

const sources = (d: AdminDeps): ListingSources => ({ registry: d.registry, stats: d.stats, env: (fn) => d.secrets.env(fn) })

/** One handler per admin operation; each returns the reply's result or throws a WispError. */
export const ADMIN_HANDLERS: { readonly [K in AdminRequest['op']]: (d: AdminDeps, r: Op<K>, by: string) => Promise<unknown> } = {
  deploy: async (d, r, by) => {
    const h = d.registry.deploy(r.manifest, by)
    return { fn: h.fn, version: h.current }
  },
  rollback: async (d, r) => {
    const h = d.registry.rollback(r.fn, r.to)
    const v = currentVersion(h)
    return { fn: h.fn, version: h.current, sha256: v?.sha256 }
  },
  describe: async (d, r) => {
    const h = history(d, r.fn)
    return { ...functionRow(sources(d), d.registry.get(r.fn) as Manifest), secrets: d.secrets.names(r.fn), current: h.current, versions: h.versions.map(({ manifest: _, ...v }) => v) }
  },
  ls: async (d) => ({ functions: listedManifests(d.registry).map((m) => functionListing(sources(d), m)) }),
  rm: async (d, r) => {
    if (!d.registry.drain(r.fn)) throw new WispError('WISP_UNKNOWN_FUNCTION', `no function "${r.fn}" is deployed`)
    await d.idle(r.fn)
    d.registry.remove(r.fn)
    d.stats.forget(r.fn)
    d.logs.forget(r.fn)
    await d.secrets.forget(r.fn)
    return { fn: r.fn, removed: true }
  },
  logs: async (d, r): Promise<{ lines: LogLine[] }> => {
    if (d.registry.get(r.fn) === undefined) throw new WispError('WISP_UNKNOWN_FUNCTION', `no function "${r.fn}" is deployed`)
    return { lines: d.logs.read(r.fn, r.since, r.after) }
  },
  // Secrets: the reply never carries a value, only names.
  'secret-set': async (d, r) => {
    await d.secrets.set(r.fn, r.name, r.value)
    return { fn: r.fn, name: r.name, names: d.secrets.names(r.fn) }
  },
  'secret-ls': async (d, r) => ({ fn: r.fn, names: d.secrets.names(r.fn) }),
  'secret-rm': async (d, r) => {
    if (!await d.secrets.remove(r.fn, r.name)) throw new WispError('WISP_BAD_CONFIG', `function ${r.fn} has no secret ${r.name}`)
    return { fn: r.fn, name: r.name, removed: true }
  },
  upgrade: async (d, r) => await d.upgrade({
    to: r.to, timeoutMs: r.timeout_ms, ...(r.package === undefined ? {} : { package: r.package }), ...(r.boards === undefined ? {} : { boards: r.boards })
  }, (p) => d.progress(p))
}
