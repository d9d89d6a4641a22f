/**
 * The child process that holds the isolates (started by RuntimePool). A V8 heap bomb in an
 * isolate can end this whole process despite memoryLimit (a single huge allocation makes
 * V8 abort with "heap out of memory"); the parent then fails what was in flight and starts
 * a new host. The code cache lives in the parent (LevelDB allows one process per folder)
 * and is reached over IPC.
 */
import { WispError, asWispError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import type { CodeCacheStore } from './code-cache.js'
import type { CapCall, CapResult } from '../protocol/capabilities.js'
import type { FromHost, HostState, ToHost, WireOutcome } from './host-protocol.js'
import { guarded } from './guarded.js'
import { batchedSend, unbatch, type Batch } from './ipc-batch.js'
import { IsolatePool } from './isolate-pool.js'
import { capOutcome } from './outcome-caps.js'

// A send racing the parent's exit must not crash the host; the callback swallows EPIPE. The
// messages of one event-loop turn travel as one (ipc-batch.ts).
const post = batchedSend<FromHost>((m) => { if (process.connected) process.send?.(m, undefined, {}, () => {}) })
const send = (m: FromHost): void => { if (process.connected) post(m) }

const pendingCache = new Map<number, (v: Uint8Array | undefined) => void>()
/** Capability calls sent to the parent, by seq, with the invocation (host id) that made them. */
const pendingCaps = new Map<number, { id: number, resolve: (r: CapResult) => void }>()
const askParent = async (id: number, call: CapCall, budgetMs: number): Promise<CapResult> => await new Promise<CapResult>((resolve) => {
  const seq = nextId++
  pendingCaps.set(seq, { id, resolve })
  send({ t: 'cap', id, seq, call, budgetMs })
})
/** An invocation that ended no longer waits for its calls' answers. */
const dropCaps = (id: number): void => {
  for (const [seq, p] of pendingCaps) {
    if (p.id !== id) continue
    pendingCaps.delete(seq)
    p.resolve({ ok: false, error: { code: 'WISP_TIMEOUT', message: 'the invocation ended before the answer came' } })
  }
}
let nextId = 1
const cache: CodeCacheStore = {
  get: async (key) => await new Promise<Uint8Array | undefined>((resolve) => {
    const id = nextId++
    pendingCache.set(id, resolve)
    send({ t: 'cache-get', id, key })
  }),
  put: async (key, value) => { send({ t: 'cache-put', key, value }) },
  del: async (key) => { send({ t: 'cache-del', key }) }
}
const log: Logger = {
  debug: (msg, extra) => { send({ t: 'log', level: 'debug', msg, extra }) },
  info: (msg, extra) => { send({ t: 'log', level: 'info', msg, extra }) },
  warn: (msg, extra) => { send({ t: 'log', level: 'warn', msg, extra }) },
  error: (msg, extra) => { send({ t: 'log', level: 'error', msg, extra }) }
}

let pool: IsolatePool | undefined
/**
 * Code by function, then sha256, so the parent sends each module once per function and host
 * (it keeps the same record, RuntimePool's `sent`). Keyed by function: functions deployed with
 * the same code share a sha256, and evicting one of them must not take the code of the others.
 */
const codes = new Map<string, Map<string, string>>()
const keepCode = (fn: string, sha: string, code: string): void => {
  const mine = codes.get(fn) ?? new Map<string, string>()
  codes.set(fn, mine)
  mine.set(sha, code)
}

const stateOf = (p: IsolatePool): HostState => ({ stats: { ...p.stats() }, memMb: p.memMb() })
let lastSent: HostState | undefined
const sameRuntimes = (a: HostState['stats'], b: HostState['stats']): boolean => {
  const ka = Object.keys(a)
  if (ka.length !== Object.keys(b).length) return false
  return ka.every((fn) => a[fn]?.runtimes === b[fn]?.runtimes)
}
/**
 * The state a `running` or `done` carries: only when the runtimes per function or the heap
 * changed since the last state sent (the agent reads those from it; running counts it keeps
 * itself). Per invocation that is seldom: a state message after every invocation, or a state on
 * every running and done, was a share of both processes' CPU.
 */
const changedState = (p: IsolatePool): HostState | undefined => {
  const s = stateOf(p)
  if (lastSent !== undefined && s.memMb === lastSent.memMb && sameRuntimes(s.stats, lastSent.stats)) return undefined
  lastSent = s
  return s
}
let statePending = false
/** A state report of its own: after warm, evict and validate, and every 500 ms. */
const pushState = (): void => {
  if (statePending || pool === undefined) return
  statePending = true
  setImmediate(guarded(log, 'state report', () => {
    statePending = false
    if (pool === undefined) return
    lastSent = stateOf(pool)
    send({ t: 'state', ...lastSent })
  }))
}
setInterval(guarded(log, 'state report', pushState), 500).unref()

const wire = (raw: Awaited<ReturnType<IsolatePool['invoke']>>, p: IsolatePool): WireOutcome => {
  const o = capOutcome(raw, p.outputLimits)
  return o.ok ? o : { ...o, error: o.error.toJSON() }
}

/** Runs one invocation; tells the parent when it runs, its outcome, and (after a timeout) when its code stopped. */
const invoke = async (m: Extract<ToHost, { t: 'invoke' }>, pool: IsolatePool): Promise<void> => {
  const { code: sent, ...rest } = m.req
  if (sent !== undefined) keepCode(rest.manifest.name, rest.manifest.sha256, sent)
  const code = codes.get(rest.manifest.name)?.get(rest.manifest.sha256)
  if (code === undefined) {
    const error = new WispError('WISP_BAD_CODE', 'the runtime host has no code for this function').toJSON()
    send({ t: 'done', id: m.id, outcome: { ok: false, error, cold: false, runMs: 0, cpuMs: 0, logs: [] } })
    return
  }
  let stopped = false
  let timedOut = false
  const p = pool.invoke({
    ...rest,
    code,
    onRunning: (budgetMs) => { send({ t: 'running', id: m.id, budgetMs, state: changedState(pool) }) },
    onStopped: () => { stopped = true; if (timedOut) send({ t: 'stopped', id: m.id }) },
    onCap: async (call, budgetMs) => await askParent(m.id, call, budgetMs)
  })
  const outcome = await p.finally(() => { dropCaps(m.id) })
  send({ t: 'done', id: m.id, outcome: wire(outcome, pool), state: changedState(pool) })
  if (!outcome.ok && outcome.error.code === 'WISP_TIMEOUT') {
    timedOut = true
    if (stopped) send({ t: 'stopped', id: m.id })
  }
}

const handle = async (m: ToHost): Promise<void> => {
  if (m.t === 'init') {
    pool = new IsolatePool({ ...m.options, cache, log })
    send({ t: 'ready' })
    return
  }
  if (m.t === 'cache-reply') { pendingCache.get(m.id)?.(m.value); pendingCache.delete(m.id); return }
  if (m.t === 'cap-reply') { pendingCaps.get(m.seq)?.resolve(m.result); pendingCaps.delete(m.seq); return }
  if (pool === undefined) return
  if (m.t === 'invoke') {
    try { await invoke(m, pool) } catch (err) {
      const error = asWispError(err).toJSON()
      send({ t: 'done', id: m.id, outcome: { ok: false, error, cold: false, runMs: 0, cpuMs: 0, logs: [] } })
    }
  } else if (m.t === 'validate' || m.t === 'warm') {
    try {
      if (m.t === 'validate') await pool.validate(m.manifest, m.code)
      else {
        keepCode(m.manifest.name, m.manifest.sha256, m.code)
        await pool.setWarm(m.manifest, m.code, m.runtimes)
      }
      send({ t: 'settled', id: m.id })
    } catch (err) {
      send({ t: 'settled', id: m.id, error: asWispError(err).toJSON() })
    }
    pushState()
  } else if (m.t === 'evict') {
    pool.evict(m.fn)
    codes.delete(m.fn)
    pushState()
  }
}

// A message the host cannot handle is logged and dropped; the host serves on.
const onMessage = guarded(log, 'runtime host message', async (m: ToHost) => { await handle(m) })
process.on('message', (m: ToHost | Batch<ToHost>) => { unbatch(m, onMessage) })
// The parent going away (or closing the channel) ends the host.
process.on('disconnect', () => {
  // Whatever close does, the host is gone within a second: an orphan must not keep a core.
  setTimeout(() => process.exit(0), 1000)
  const close = pool?.close() ?? Promise.resolve()
  void close.catch(() => {}).finally(() => process.exit(0))
})
