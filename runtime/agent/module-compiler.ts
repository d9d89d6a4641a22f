import ivm from 'isolated-vm'
import type { Message } from 'esbuild'
import type { Manifest } from '../protocol/messages.js'
import { WispError } from '../shared/errors.js'
import { codeCacheKey, type CodeCacheStore } from './code-cache.js'
import { withEsbuild } from './esbuild-on-demand.js'

const FUNCTION_PATH = 'wisp:function'
// Reads the exports once, after the module's top level ran, into a plain object.
const ENTRY = `import * as m from ${JSON.stringify(FUNCTION_PATH)}\nmodule.exports = { handler: m.handler, init: m.init }\n`

/**
 * A function's ES module becomes one classic script whose completion value is
 * `{ handler, init }`. A script (unlike a module) is compiled once per isolate and can run in
 * any number of its contexts, which is what `context` isolation needs. esbuild bundles a
 * two-line entry that imports the module, so the exports end up as plain values read once
 * after the top level; its ESM→CJS transform of the module alone would define a getter per
 * export and copy them all again (`__toCommonJS`), which for a bundle with 2,000 exports cost
 * 11 ms on every run of the top level. Tree shaking stays off: the code that runs is the
 * code that was deployed. Top-level await is not supported, and `import` fails with a clear
 * error because functions get no modules.
 */
export const toScript = async (name: string, code: string): Promise<string> => {
  let cjs: string
  try {
    const out = await withEsbuild(async ({ build }) => await build({
      stdin: { contents: ENTRY, loader: 'js', sourcefile: 'wisp-entry.js' },
      bundle: true,
      treeShaking: false,
      write: false,
      format: 'cjs',
      target: 'es2022',
      platform: 'neutral',
      logLevel: 'silent',
      plugins: [{
        name: 'wisp-function',
        setup (b) {
          b.onResolve({ filter: /.*/ }, (a) => a.path === FUNCTION_PATH ? { path: `${name}.js`, namespace: 'wisp' } : { path: a.path, external: true })
          b.onLoad({ filter: /.*/, namespace: 'wisp' }, () => ({ contents: code, loader: 'js' }))
        }
      }]
    }))
    cjs = out.outputFiles[0]?.text ?? ''
  } catch (err) {
    const first = (err as { errors?: Message[] }).errors?.[0]
    const where = first?.location == null ? '' : ` (line ${first.location.line}, column ${first.location.column})`
    if (/top-level await/i.test(first?.text ?? '')) {
      throw new WispError('WISP_BAD_CODE', `${name}: Top-level await is not supported in a function module${where}; await in \`export async function init ()\` (run once per runtime, its result is context.shared) or in the handler`)
    }
    throw new WispError('WISP_BAD_CODE', `${name}: ${first?.text ?? (err as Error).message}${where}`)
  }
  return '(function () {\n' +
    'const module = { exports: {} };\n' +
    '(function (module, exports, require) {"use strict";\n' + cjs + '\n})(module, module.exports, function (id) {\n' +
    '  throw new Error("wisp functions cannot import modules (" + String(id) + ")") });\n' +
    'return module.exports;\n})()'
}

/** Cache entry layout: u32 (LE) byte length of the script text, the text, then V8's cached data. */
const encode = (text: string, data: ArrayBuffer): Uint8Array => {
  const t = Buffer.from(text, 'utf8')
  const out = new Uint8Array(4 + t.byteLength + data.byteLength)
  new DataView(out.buffer).setUint32(0, t.byteLength, true)
  out.set(t, 4)
  out.set(new Uint8Array(data), 4 + t.byteLength)
  return out
}

/** A decoded entry: the cached data stays in one ExternalCopy that every compile reads. */
interface Decoded { readonly text: string, readonly data: ivm.ExternalCopy<ArrayBuffer>, readonly bytes: number }

const decode = (buf: Uint8Array): Decoded | undefined => {
  if (buf.byteLength < 4) return undefined
  const n = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(0, true)
  if (4 + n > buf.byteLength) return undefined
  // A copy of its own (a Buffer's slice would share, and then hand over, a pooled buffer).
  const data = new Uint8Array(buf.byteLength - 4 - n)
  data.set(buf.subarray(4 + n))
  return {
    text: Buffer.from(buf.buffer, buf.byteOffset + 4, n).toString('utf8'),
    data: new ivm.ExternalCopy(data.buffer, { transferOut: true }),
    bytes: buf.byteLength
  }
}

/**
 * Decoded entries of one pool, most recently used last, up to maxBytes. Without it every new
 * runtime asked the store (in the host process an IPC round trip to the agent carrying the
 * whole entry), decoded ~0.2 MB of text and copied the cached data twice. Entries are keyed
 * by the code's hash and the V8 build, so they never go stale; one that V8 rejects is dropped.
 */
export class DecodedCodeMemo {
  private readonly map = new Map<string, Decoded>()
  private bytes = 0
  constructor (private readonly maxBytes = 32 * 1024 * 1024) {}

  remember (key: string, d: Decoded): void {
    this.forget(key)
    this.map.set(key, d)
    this.bytes += d.bytes
    for (const [k] of this.map) {
      if (this.bytes <= this.maxBytes) break
      this.forget(k)
    }
  }

  forget (key: string): void {
    const d = this.map.get(key)
    if (d === undefined) return
    this.map.delete(key)
    this.bytes -= d.bytes
  }

  async recall (key: string, store: CodeCacheStore): Promise<Decoded | undefined> {
    const known = this.map.get(key)
    if (known !== undefined) { this.remember(key, known); return known }
    const d = decode(await store.get(key).catch(() => undefined) ?? new Uint8Array(0))
    if (d !== undefined) this.remember(key, d)
    return d
  }
}

type CachedScript = ivm.Script & { readonly cachedData?: ivm.ExternalCopy<ArrayBuffer>, readonly cachedDataRejected?: boolean }

export interface Compiled { readonly script: ivm.Script, readonly cache: 'hit' | 'miss' | 'rejected' }

const compileError = (name: string, err: unknown): WispError =>
  new WispError('WISP_BAD_CODE', `${name}: ${(err as Error).message ?? String(err)}`)

/**
 * Compiles a function into an isolate through the code cache. A cache entry that does not
 * decode or that V8 rejects (another V8 build, a corrupt file) is dropped and rebuilt; the
 * cache store failing is never an error for the invocation either.
 */
export const compileFunction = async (isolate: ivm.Isolate, manifest: Manifest, code: string, store: CodeCacheStore,
  memo = new DecodedCodeMemo(0)): Promise<Compiled> => {
  const key = codeCacheKey(manifest.sha256)
  const filename = `file:///functions/${manifest.name}.js`
  const hit = await memo.recall(key, store)
  if (hit !== undefined) {
    let script: CachedScript | undefined
    try {
      script = await isolate.compileScript(hit.text, { filename, cachedData: hit.data })
    } catch { script = undefined }
    if (script !== undefined && script.cachedDataRejected !== true) return { script, cache: 'hit' }
    memo.forget(key)
    await store.del(key).catch(() => {})
    const fresh = await produce(isolate, manifest.name, hit.text, filename)
    await keep(store, memo, key, hit.text, fresh.data)
    return { script: fresh.script, cache: 'rejected' }
  }
  const text = await toScript(manifest.name, code)
  const fresh = await produce(isolate, manifest.name, text, filename)
  await keep(store, memo, key, text, fresh.data)
  return { script: fresh.script, cache: 'miss' }
}

const keep = async (store: CodeCacheStore, memo: DecodedCodeMemo, key: string, text: string, data: ArrayBuffer): Promise<void> => {
  const entry = encode(text, data)
  const d = decode(entry)
  if (d !== undefined) memo.remember(key, d)
  await store.put(key, entry).catch(() => {})
}

const produce = async (isolate: ivm.Isolate, name: string, text: string, filename: string): Promise<{ script: ivm.Script, data: ArrayBuffer }> => {
  let script: CachedScript
  try {
    script = await isolate.compileScript(text, { filename, produceCachedData: true })
  } catch (err) {
    if (isolate.isDisposed) throw err
    throw compileError(name, err)
  }
  const data = script.cachedData?.copy() ?? new ArrayBuffer(0)
  return { script, data }
}
