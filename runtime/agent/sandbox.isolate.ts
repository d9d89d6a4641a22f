/**
 * Runs inside every isolate context before the function's module, with nothing but the
 * ECMAScript built-ins around it (no process, require, timers, fs or network). It keeps the
 * function's exports in a closure, captures console output per invocation, offers a bounded
 * setTimeout backed by the host, serialises results, and speaks to the host only through
 * `globalThis.__wisp`, which the host takes and deletes before user code runs.
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
const hostSleep = G.__wisp_sleep as HostSleep
delete G.__wisp_sleep

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

const boot = (exp: unknown): string => {
  if (exp === null || typeof exp !== 'object') return envelope(false, { code: 'WISP_BAD_CODE', message: 'the module has no exports' })
  const e = exp as Record<string, unknown>
  if (typeof e.handler !== 'function') return envelope(false, { code: 'WISP_BAD_CODE', message: 'the module exports no function `handler`' })
  if (e.init !== undefined && typeof e.init !== 'function') return envelope(false, { code: 'WISP_BAD_CODE', message: '`init` is exported but is not a function' })
  exportsObj = e
  return envelope(true, {})
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

const invoke = async (id: string, eventJson: string, metaJson: string): Promise<string> => {
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

G.__wisp = freeze({
  boot,
  runInit,
  getShared: (): unknown => shared,
  setShared: (v: unknown): void => { shared = v },
  invoke
})
