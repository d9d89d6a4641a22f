/**
 * Runs inside every isolate context before the function's module, with nothing but the
 * ECMAScript built-ins around it (no process, require, timers, fs or network). It keeps the
 * function's exports in a closure, captures console output per invocation, offers a bounded
 * setTimeout backed by the host, and serialises results. The script's completion value is
 * `setup(hostSleep)`, which returns the one function the host calls, `call(op, ...)`: one
 * round trip installs a context, one boots it, one runs an invocation.
 *
 * Built-ins are captured here, before user code can patch them, so a function that
 * replaces JSON.stringify or Array.prototype.push only breaks itself, never the envelope.
 */

interface HostSleep { apply: (self: undefined, args: [number], opts: { result: { promise: true } }) => Promise<boolean> }
/** The host's capability entry: (invocation id, call as JSON) → reply as JSON (see cap-sessions.ts). */
interface HostCap { apply: (self: undefined, args: [string, string], opts: { result: { promise: true } }) => Promise<string> }
interface Meta {
  readonly requestId: string
  readonly functionName: string
  readonly board: string
  readonly deadlineMs: number
  /** The function's secrets (name → value). */
  readonly env: Readonly<Record<string, string>>
  readonly maxResultBytes: number
  readonly maxLogLines: number
  readonly maxLogLineChars: number
  readonly maxErrorChars: number
}
/** Log lines kept as a JSON fragment (a string cannot be tampered with through prototypes). */
interface Sink { json: string, count: number, dropped: number, max: number, maxChars: number }
type Fn = (...args: unknown[]) => unknown

const G = globalThis as unknown as Record<string, unknown>
// Set by setup() before any user code runs in this context.
let hostSleep: HostSleep | undefined
let hostCap: HostCap | undefined

const stringify = JSON.stringify
const parse = JSON.parse
const freeze = Object.freeze
const isFrozen = Object.isFrozen
const keysOf = Object.keys
const seal = Object.seal
const ownKeys = Reflect.ownKeys
const getDesc = Object.getOwnPropertyDescriptor
const isView = ArrayBuffer.isView
const toStr = String
const WeakSetC = WeakSet
const weakHas = WeakSet.prototype.has
const weakAdd = WeakSet.prototype.add
const apply = Reflect.apply
const create = Object.create
const SetC = Set
const PromiseC = Promise
const getProto = Object.getPrototypeOf
const isArray = Array.isArray
const objTag = Object.prototype.toString
const ErrorC = Error
const TypeErrorC = TypeError
const RangeErrorC = RangeError
const isInteger = Number.isInteger
const defineProp = Object.defineProperty
const then = Promise.prototype.then

// WebAssembly memory is allocated outside the V8 heap that memoryLimit watches (a growing
// Memory ran to 4 GiB in our tests), so functions do not get it.
delete G.WebAssembly

let exportsObj: Record<string, unknown> | undefined
let shared: unknown
let current: Sink | undefined
// Null-prototype records, not Maps: a function that patches Map.prototype.set must not be
// handed the sinks of other invocations.
const inflight = create(null) as Record<string, Sink>
let inflightCount = 0
let lastStarted: Sink | undefined

const errorMessage = (err: unknown): string => {
  try {
    if (err !== null && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') {
      return (err as { message: string }).message
    }
    if (typeof err === 'string') return err
    return 'threw a non-Error value: ' + (stringify(err) ?? toStr(err))
  } catch {
    return 'threw a value that cannot be described'
  }
}

const describe = (v: unknown): string => {
  if (typeof v === 'string') return v
  try {
    if (v instanceof Error) return toStr(v.stack ?? v.message)
    const s = stringify(v)
    return s === undefined ? toStr(v) : s
  } catch {
    try { return toStr(v) } catch { return '[unprintable]' }
  }
}

const write = (sink: Sink | undefined, args: unknown[]): void => {
  if (sink === undefined) return
  if (sink.count >= sink.max) { sink.dropped++; return }
  let line = ''
  for (let i = 0; i < args.length; i++) line += (i === 0 ? '' : ' ') + describe(args[i])
  if (line.length > sink.maxChars) line = line.slice(0, sink.maxChars - 1) + '…'
  sink.json += (sink.count === 0 ? '' : ',') + stringify(line)
  sink.count++
}

/**
 * In a shared runtime several invocations interleave in one context and the isolate has
 * no async context tracking, so console output is attributed to the invocation whose
 * synchronous turn is running, else to the only one in flight, else to the latest started.
 * `context.log` is always exact.
 */
const consoleSink = (): Sink | undefined => {
  if (current !== undefined) return current
  if (inflightCount === 1) for (const k in inflight) return inflight[k]
  return lastStarted
}
const log = (...args: unknown[]): void => { write(consoleSink(), args) }
G.console = freeze({ log, info: log, warn: log, error: log, debug: log, trace: log })

// A bounded setTimeout: at most 64 pending, each resolved by the host no later than the
// invocation's deadline; the host cancels what is left when the runtime goes idle.
const MAX_TIMERS = 64
const timers = new SetC<number>()
let nextTimer = 1
G.setTimeout = (fn: unknown, ms?: unknown, ...args: unknown[]): number => {
  if (typeof fn !== 'function') throw new TypeError('setTimeout needs a function')
  if (timers.size >= MAX_TIMERS) throw new RangeError(`too many pending timers (max ${MAX_TIMERS})`)
  const id = nextTimer++
  timers.add(id)
  const delay = typeof ms === 'number' && ms > 0 ? ms : 0
  if (hostSleep === undefined) throw new Error('timers are not available yet')
  void hostSleep.apply(undefined, [delay], { result: { promise: true } }).then((fire) => {
    if (timers.delete(id) && fire) (fn as Fn)(...args)
  }, () => { timers.delete(id) })
  return id
}
G.clearTimeout = (id: unknown): void => { timers.delete(id as number) }

// ---- Capabilities (context.publish, context.kv, context.invoke) -------------------------------
// Arguments are checked and turned into JSON text here, before anything leaves the isolate; the
// host checks them again (types, sizes, counts) and the gateway a third time. Every call is
// answered by the host no later than the invocation's deadline.
const MAX_TOPIC_CHARS = 1024
const MAX_PUBLISH_CHARS = 64 * 1024
const MAX_KEY_CHARS = 256
const MAX_VALUE_CHARS = 64 * 1024
const MAX_EVENT_CHARS = 256 * 1024

const needString = (v: unknown, what: string, min: number, max: number): string => {
  if (typeof v !== 'string') throw new TypeErrorC(`${what} must be a string`)
  if (v.length < min) throw new RangeErrorC(`${what} is empty`)
  if (v.length > max) throw new RangeErrorC(`${what} is over ${max} characters`)
  return v
}
const toJsonText = (v: unknown, what: string, max: number): string => {
  const s = v === undefined ? 'null' : stringify(v)
  if (typeof s !== 'string') throw new TypeErrorC(`${what} has no JSON form`)
  if (s.length > max) throw new RangeErrorC(`${what} is at least ${s.length} bytes as JSON; the limit is ${max}`)
  return s
}
const optionsOf = (o: unknown, what: string): Record<string, unknown> => {
  if (o === undefined || o === null) return create(null) as Record<string, unknown>
  if (typeof o !== 'object') throw new TypeErrorC(`${what} options must be an object`)
  return o as Record<string, unknown>
}

/** An Error whose `code` is the WISP_* code of a refused call. */
const capFailure = (code: unknown, message: unknown): Error => {
  const c = typeof code === 'string' ? code : 'WISP_FUNCTION_ERROR'
  const e = new ErrorC(`${c}: ${typeof message === 'string' ? message : 'capability call failed'}`)
  defineProp(e, 'code', { value: c, enumerable: true })
  return e
}

const capCall = (id: string, build: () => Record<string, unknown>): Promise<unknown> => {
  let json: string
  try {
    if (hostCap === undefined) throw new ErrorC('capabilities are not available here')
    json = stringify(build())
  } catch (err) {
    return PromiseC.reject(err)
  }
  const reply = (hostCap as HostCap).apply(undefined, [id, json], { result: { promise: true } })
  return apply(then, reply, [(text: unknown) => {
    const r = parse(typeof text === 'string' ? text : 'null') as { ok?: unknown, value?: unknown, code?: unknown, message?: unknown } | null
    if (r !== null && r.ok === true) return r.value
    throw capFailure(r?.code, r?.message)
  }]) as Promise<unknown>
}

const capabilities = (id: string): { publish: Fn, kv: Readonly<Record<string, Fn>>, invoke: Fn } => ({
  publish: (topic: unknown, payload: unknown, opts?: unknown) => capCall(id, () => {
    const o = optionsOf(opts, 'publish')
    const qos = o.qos === undefined ? 0 : o.qos
    if (qos !== 0 && qos !== 1) throw new RangeErrorC('publish: qos must be 0 or 1')
    const retain = o.retain === undefined ? false : o.retain
    if (typeof retain !== 'boolean') throw new TypeErrorC('publish: retain must be a boolean')
    const text = typeof payload === 'string' ? payload : toJsonText(payload, 'publish: the payload', MAX_PUBLISH_CHARS)
    if (text.length > MAX_PUBLISH_CHARS) throw new RangeErrorC(`publish: the payload is over ${MAX_PUBLISH_CHARS} bytes`)
    return { op: 'publish', topic: needString(topic, 'publish: the topic', 1, MAX_TOPIC_CHARS), payload: text, qos, retain }
  }),
  kv: freeze({
    get: (key: unknown) => capCall(id, () => ({ op: 'kv.get', key: needString(key, 'kv.get: the key', 1, MAX_KEY_CHARS) })),
    put: (key: unknown, value: unknown, opts?: unknown) => capCall(id, () => {
      const o = optionsOf(opts, 'kv.put')
      const ttl = o.ttlMs
      if (ttl !== undefined && (typeof ttl !== 'number' || !isInteger(ttl) || ttl < 1)) throw new RangeErrorC('kv.put: ttlMs must be a positive integer (ms)')
      const call: Record<string, unknown> = { op: 'kv.put', key: needString(key, 'kv.put: the key', 1, MAX_KEY_CHARS), value: toJsonText(value, 'kv.put: the value', MAX_VALUE_CHARS) }
      if (ttl !== undefined) call.ttl_ms = ttl
      return call
    }),
    delete: (key: unknown) => capCall(id, () => ({ op: 'kv.delete', key: needString(key, 'kv.delete: the key', 1, MAX_KEY_CHARS) })),
    list: (prefix?: unknown) => capCall(id, () => ({ op: 'kv.list', prefix: prefix === undefined ? '' : needString(prefix, 'kv.list: the prefix', 0, MAX_KEY_CHARS) }))
  }),
  invoke: (fn: unknown, event?: unknown) => capCall(id, () => ({
    op: 'invoke', fn: needString(fn, 'invoke: the function name', 1, 64), event: toJsonText(event, 'invoke: the event', MAX_EVENT_CHARS)
  }))
})

/** Freezes the init result in place (no copy). Typed-array contents cannot be frozen by V8. */
const deepFreeze = (root: unknown): void => {
  // Built-ins captured before user code ran, and a null-prototype stack: a module that
  // patched WeakSet.prototype or Array.prototype.push must not leave `shared` unfrozen.
  const seen = new WeakSetC<object>()
  const stack = create(null) as Record<number, unknown>
  let n = 0
  stack[n++] = root
  while (n > 0) {
    const v = stack[--n]
    if (v === null || (typeof v !== 'object' && typeof v !== 'function')) continue
    const o = v as object
    if (apply(weakHas, seen, [o]) === true) continue
    apply(weakAdd, seen, [o])
    if (isView(o)) seal(o)
    else if (!isFrozen(o)) freeze(o)
    for (const k of ownKeys(o)) {
      const d = getDesc(o, k)
      if (d !== undefined && 'value' in d) stack[n++] = d.value
    }
  }
}

/**
 * The reply, written out by hand from strings: JSON.stringify of an object would consult
 * `toJSON` (a function can set Object.prototype.toJSON and forge the reply). `ok` comes last,
 * so nothing before it can override it in the host's JSON.parse.
 */
const envelope = (ok: boolean, body: { code?: string, message?: string, resultJson?: string }, sink?: Sink): string => {
  let logs = sink === undefined ? '' : sink.json
  if (sink !== undefined && sink.dropped > 0) logs += (sink.count === 0 ? '' : ',') + stringify(`[wisp] ${sink.dropped} more log lines dropped`)
  let s = '{"logs":[' + logs + ']'
  if (body.code !== undefined) s += ',"code":' + stringify(toStr(body.code))
  if (body.message !== undefined) s += ',"message":' + stringify(toStr(body.message))
  if (body.resultJson !== undefined) s += ',"result":' + body.resultJson
  return s + ',"ok":' + (ok ? 'true' : 'false') + '}'
}

/** "a Map", "an instance of Point": read through captured built-ins, never through the value's own getters. */
const kindOf = (v: object, proto: unknown): string => {
  const tag = toStr(apply(objTag, v, [])).slice(8, -1)
  if (tag !== 'Object' && tag !== 'Array') return `a ${tag}`
  try {
    const c = getDesc(proto as object, 'constructor')
    const n = c !== undefined && 'value' in c && typeof c.value === 'function' ? getDesc(c.value as object, 'name') : undefined
    if (n !== undefined && 'value' in n && typeof n.value === 'string' && n.value !== '') return `an instance of ${n.value}`
  } catch { /* a hostile prototype: describe it generically */ }
  return 'a non-plain object'
}

const at = (key: string): string => key === '' ? '' : ` at key "${key}"`

const serialise = (value: unknown): string => {
  if (value === undefined) return 'null'
  const s = stringify(value, (key, v: unknown) => {
    const t = typeof v
    if (t === 'function' || t === 'symbol') {
      throw new TypeError(`the result holds a ${t}${at(key)}`)
    }
    // A Map, Set, typed array or class instance would come out as {} or a bag of indices, its
    // content silently lost: only plain objects and arrays are results (a Date has already
    // become its ISO string through its toJSON here).
    if (t === 'object' && v !== null) {
      const o = v as object
      const proto = getProto(o) as unknown
      // Realm-independent (a context-mode runtime hands over `context.shared` made in another
      // context, with that context's Object.prototype): a plain object's prototype is an
      // Object.prototype, whose own prototype is null; an array's is an Array.prototype, itself
      // an array. A class instance, Map, Set or typed array has a longer chain.
      const plain = proto === null || (isArray(o) ? isArray(proto) : getProto(proto as object) === null)
      if (!plain) {
        throw new TypeError(`the result holds ${kindOf(o, proto)}${at(key)}, not a plain object or array (convert it, e.g. Object.fromEntries(map) or [...set])`)
      }
    }
    return v
  })
  if (s === undefined) throw new TypeError('the result has no JSON form')
  return s
}

const result = (value: unknown, meta: Meta, sink: Sink): string => {
  let s: string
  try { s = serialise(value) } catch (err) {
    return envelope(false, { code: 'WISP_FUNCTION_ERROR', message: `${meta.functionName}: result is not JSON-serialisable: ${errorMessage(err)}` }, sink)
  }
  // UTF-16 length is a lower bound of the UTF-8 size; the host checks the exact size.
  if (s.length > meta.maxResultBytes) {
    return envelope(false, { code: 'WISP_PAYLOAD_TOO_LARGE', message: `${meta.functionName}: result is at least ${s.length} bytes; the limit is ${meta.maxResultBytes}` }, sink)
  }
  return envelope(true, { resultJson: s }, sink)
}

/** Takes the module's exports; an envelope if they are unusable. */
const adopt = (exp: unknown): string | undefined => {
  if (exp === null || typeof exp !== 'object') return envelope(false, { code: 'WISP_BAD_CODE', message: 'the module has no exports' })
  const e = exp as Record<string, unknown>
  if (typeof e.handler !== 'function') return envelope(false, { code: 'WISP_BAD_CODE', message: 'the module exports no function `handler`' })
  if (e.init !== undefined && typeof e.init !== 'function') return envelope(false, { code: 'WISP_BAD_CODE', message: '`init` is exported but is not a function' })
  exportsObj = e
  return undefined
}

const runInit = async (): Promise<string> => {
  const init = exportsObj?.init
  if (typeof init !== 'function') return envelope(true, {})
  try {
    shared = await (init as Fn)()
    deepFreeze(shared)
    return envelope(true, {})
  } catch (err) {
    return envelope(false, { code: 'WISP_FUNCTION_ERROR', message: `init failed: ${errorMessage(err)}` })
  }
}

/** The main context: exports checked, then (unless only validating) `init`, in one call. */
const boot = async (exp: unknown, withInit: boolean): Promise<string> => {
  const bad = adopt(exp)
  if (bad !== undefined) return bad
  return withInit ? await runInit() : envelope(true, {})
}

/** `context.env`: a frozen plain object of this invocation's secrets (strings only), made in this context. */
const secretsOf = (env: unknown): Readonly<Record<string, string>> => {
  const out: Record<string, string> = {}
  if (env !== null && typeof env === 'object') {
    for (const k of keysOf(env)) {
      const v = (env as Record<string, unknown>)[k]
      // Defined, not assigned: a setter the module put on Object.prototype never sees a value.
      if (typeof v === 'string') defineProp(out, k, { value: v, enumerable: true })
    }
  }
  return freeze(out)
}

/**
 * `exp` and `sh` are given in a per-invocation context (`context` isolation): that context's
 * own exports, and the main context's frozen `init` result, handed over by reference.
 */
const invoke = async (id: string, eventJson: string, metaJson: string, exp?: unknown, sh?: unknown): Promise<string> => {
  if (exp !== undefined) {
    const bad = adopt(exp)
    if (bad !== undefined) return bad
    shared = sh
  }
  const meta = parse(metaJson) as Meta
  const sink: Sink = { json: '', count: 0, dropped: 0, max: meta.maxLogLines, maxChars: meta.maxLogLineChars }
  if (inflight[id] === undefined) inflightCount++
  inflight[id] = sink
  lastStarted = sink
  const context = freeze({
    requestId: meta.requestId,
    functionName: meta.functionName,
    board: meta.board,
    deadlineMs: meta.deadlineMs,
    env: secretsOf(meta.env),
    shared,
    log: (...args: unknown[]): void => { write(sink, args) },
    ...capabilities(id)
  })
  try {
    const handler = exportsObj?.handler as Fn
    let pending: unknown
    current = sink
    try { pending = handler(parse(eventJson), context) } finally { current = undefined }
    const value = await PromiseC.resolve(pending)
    return result(value, meta, sink)
  } catch (err) {
    const message = errorMessage(err)
    return envelope(false, { code: 'WISP_FUNCTION_ERROR', message: message.length > meta.maxErrorChars ? message.slice(0, meta.maxErrorChars - 1) + '…' : message }, sink)
  } finally {
    if (inflight[id] !== undefined) inflightCount--
    delete inflight[id]
    if (lastStarted === sink) lastStarted = undefined
  }
}

/**
 * `context` isolation: the main context only ran the module's top level and `init`, and
 * `shared` (handed to every invocation) leads back to it through prototypes and
 * constructors. Freezing everything reachable from its global object closes that channel
 * between invocations (nothing runs in the main context afterwards).
 */
const lock = (): boolean => { deepFreeze(G); return true }

type Op = 'boot' | 'shared' | 'invoke' | 'lock'
const call = (op: Op, a?: unknown, b?: unknown, c?: unknown, d?: unknown, e?: unknown): unknown => {
  if (op === 'lock') return lock()
  if (op === 'invoke') return invoke(a as string, b as string, c as string, d, e)
  if (op === 'boot') return boot(a, b === true)
  if (op === 'shared') return shared
  throw new TypeError('unknown operation')
}

// Handed to the wrapper sandbox-source puts around this bundle, which takes and deletes it
// in the same script run, before any user code exists in the context.
G.__wisp_setup = (sleep: HostSleep, cap: HostCap): typeof call => {
  if (hostSleep !== undefined) throw new Error('already set up')
  hostSleep = sleep
  hostCap = cap
  return call
}
