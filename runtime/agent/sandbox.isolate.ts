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
interface Meta {
  readonly requestId: string
  readonly functionName: string
  readonly board: string
  readonly deadlineMs: number
  readonly maxResultBytes: number
  readonly maxLogLines: number
  readonly maxLogLineChars: number
}
interface Sink { lines: string[], dropped: number, max: number, maxChars: number }
type Fn = (...args: unknown[]) => unknown

const G = globalThis as unknown as Record<string, unknown>
// Set by setup() before any user code runs in this context.
let hostSleep: HostSleep | undefined

const stringify = JSON.stringify
const parse = JSON.parse
const freeze = Object.freeze
const isFrozen = Object.isFrozen
const seal = Object.seal
const ownKeys = Reflect.ownKeys
const getDesc = Object.getOwnPropertyDescriptor
const isView = ArrayBuffer.isView
const toStr = String
const WeakSetC = WeakSet
const MapC = Map
const SetC = Set
const PromiseC = Promise

// WebAssembly memory is allocated outside the V8 heap that memoryLimit watches (a growing
// Memory ran to 4 GiB in our tests), so functions do not get it.
delete G.WebAssembly

let exportsObj: Record<string, unknown> | undefined
let shared: unknown
let current: Sink | undefined
const inflight = new MapC<string, Sink>()
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
  if (sink.lines.length >= sink.max) { sink.dropped++; return }
  let line = ''
  for (let i = 0; i < args.length; i++) line += (i === 0 ? '' : ' ') + describe(args[i])
  if (line.length > sink.maxChars) line = line.slice(0, sink.maxChars - 1) + '…'
  sink.lines.push(line)
}

/**
 * In a shared runtime several invocations interleave in one context and the isolate has
 * no async context tracking, so console output is attributed to the invocation whose
 * synchronous turn is running, else to the only one in flight, else to the latest started.
 * `context.log` is always exact.
 */
const consoleSink = (): Sink | undefined => {
  if (current !== undefined) return current
  if (inflight.size === 1) for (const s of inflight.values()) return s
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

/** Freezes the init result in place (no copy). Typed-array contents cannot be frozen by V8. */
const deepFreeze = (root: unknown): void => {
  const seen = new WeakSetC<object>()
  const stack: unknown[] = [root]
  while (stack.length > 0) {
    const v = stack.pop()
    if (v === null || (typeof v !== 'object' && typeof v !== 'function')) continue
    const o = v as object
    if (seen.has(o)) continue
    seen.add(o)
    if (isView(o)) seal(o)
    else if (!isFrozen(o)) freeze(o)
    for (const k of ownKeys(o)) {
      const d = getDesc(o, k)
      if (d !== undefined && 'value' in d) stack.push(d.value)
    }
  }
}

const envelope = (ok: boolean, body: Record<string, unknown>, sink?: Sink): string => {
  const logs = sink === undefined ? [] : sink.lines
  if (sink !== undefined && sink.dropped > 0) logs.push(`[wisp] ${sink.dropped} more log lines dropped`)
  return stringify({ ok, logs, ...body })
}

const serialise = (value: unknown): string => {
  if (value === undefined) return 'null'
  const s = stringify(value, (key, v: unknown) => {
    const t = typeof v
    if (t === 'function' || t === 'symbol') {
      throw new TypeError(`the result holds a ${t}${key === '' ? '' : ` at key "${key}"`}`)
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
  const head = envelope(true, {}, sink)
  return head.slice(0, -1) + ',"result":' + s + '}'
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
  const sink: Sink = { lines: [], dropped: 0, max: meta.maxLogLines, maxChars: meta.maxLogLineChars }
  inflight.set(id, sink)
  lastStarted = sink
  const context = freeze({
    requestId: meta.requestId,
    functionName: meta.functionName,
    board: meta.board,
    deadlineMs: meta.deadlineMs,
    shared,
    log: (...args: unknown[]): void => { write(sink, args) }
  })
  try {
    const handler = exportsObj?.handler as Fn
    let pending: unknown
    current = sink
    try { pending = handler(parse(eventJson), context) } finally { current = undefined }
    const value = await PromiseC.resolve(pending)
    return result(value, meta, sink)
  } catch (err) {
    return envelope(false, { code: 'WISP_FUNCTION_ERROR', message: errorMessage(err) }, sink)
  } finally {
    inflight.delete(id)
    if (lastStarted === sink) lastStarted = undefined
  }
}

type Op = 'boot' | 'shared' | 'invoke'
const call = (op: Op, a?: unknown, b?: unknown, c?: unknown, d?: unknown, e?: unknown): unknown => {
  if (op === 'invoke') return invoke(a as string, b as string, c as string, d, e)
  if (op === 'boot') return boot(a, b === true)
  if (op === 'shared') return shared
  throw new TypeError('unknown operation')
}

// Handed to the wrapper sandbox-source puts around this bundle, which takes and deletes it
// in the same script run, before any user code exists in the context.
G.__wisp_setup = (sleep: HostSleep): typeof call => {
  if (hostSleep !== undefined) throw new Error('already set up')
  hostSleep = sleep
  return call
}
