import type { AdminRequest, FunctionListing, History, LogLine } from '../protocol/admin.js'
import type { Manifest } from '../protocol/messages.js'
import { WispError } from '../shared/errors.js'
import type { FnStats } from './fn-stats.js'
import type { LogRing } from './log-ring.js'
import type { Registry } from './registry.js'
import type { SecretStorage } from './secret-storage.js'
import { currentVersion } from './versions.js'

export interface AdminDeps {
  readonly registry: Registry
  readonly stats: FnStats
  readonly logs: LogRing
  readonly secrets: SecretStorage
  /** Resolves once no invocation of `fn` is in flight at the leader. */
  readonly idle: (fn: string) => Promise<void>
}

type Op<K extends AdminRequest['op']> = Extract<AdminRequest, { op: K }>

const history = (d: AdminDeps, fn: string): History => {
  const h = d.registry.history(fn)
  if (h === undefined || d.registry.get(fn) === undefined) throw new WispError('WISP_UNKNOWN_FUNCTION', `no function "${fn}" is deployed`)
  return h
}

const listing = (d: AdminDeps, m: Manifest): FunctionListing => ({
  name: m.name,
  version: d.registry.history(m.name)?.current ?? null,
  size: m.size,
  sha256: m.sha256,
  memory_mb: m.memory_mb,
  timeout_ms: m.timeout_ms,
  concurrency: m.concurrency,
  isolation: m.isolation,
  triggers: m.triggers ?? null,
  stats: d.stats.view(m.name)
})

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
    return { ...listing(d, d.registry.get(r.fn) as Manifest), secrets: d.secrets.names(r.fn), current: h.current, versions: h.versions.map(({ manifest: _, ...v }) => v) }
  },
  ls: async (d) => ({ functions: d.registry.list().filter((m) => !d.registry.isDraining(m.name)).sort((a, b) => a.name.localeCompare(b.name)).map((m) => listing(d, m)) }),
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
  }
}
