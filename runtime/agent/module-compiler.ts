import ivm from 'isolated-vm'
import { transformSync } from 'esbuild'
import type { Manifest } from '../protocol/messages.js'
import { WispError } from '../shared/errors.js'
import { codeCacheKey, type CodeCacheStore } from './code-cache.js'

/**
 * A function's ES module becomes one classic script whose completion value is its exports
 * object. A script (unlike a module) is compiled once per isolate and can run in any number
 * of its contexts, which is what `context` isolation needs. The transform is esbuild's
 * ESM→CJS; top-level await is therefore not supported, and `import` fails with a clear error
 * because functions get no modules.
 */
export const toScript = (name: string, code: string): string => {
  let cjs: string
  try {
    cjs = transformSync(code, { format: 'cjs', loader: 'js', target: 'es2022', sourcefile: `${name}.js`, logLevel: 'silent' }).code
  } catch (err) {
    const first = (err as { errors?: Array<{ text: string, location?: { line: number, column: number } | null }> }).errors?.[0]
    const where = first?.location == null ? '' : ` (line ${first.location.line}, column ${first.location.column})`
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
const decode = (buf: Uint8Array): { text: string, data: Uint8Array } | undefined => {
  if (buf.byteLength < 4) return undefined
  const n = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(0, true)
  if (4 + n > buf.byteLength) return undefined
  return {
    text: Buffer.from(buf.buffer, buf.byteOffset + 4, n).toString('utf8'),
    data: buf.subarray(4 + n)
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
export const compileFunction = async (isolate: ivm.Isolate, manifest: Manifest, code: string, store: CodeCacheStore): Promise<Compiled> => {
  const key = codeCacheKey(manifest.sha256)
  const filename = `file:///functions/${manifest.name}.js`
  const hit = decode(await store.get(key).catch(() => undefined) ?? new Uint8Array(0))
  if (hit !== undefined) {
    let script: CachedScript | undefined
    try {
      const cachedData = new ivm.ExternalCopy(hit.data.buffer.slice(hit.data.byteOffset, hit.data.byteOffset + hit.data.byteLength) as ArrayBuffer)
      script = await isolate.compileScript(hit.text, { filename, cachedData })
    } catch { script = undefined }
    if (script !== undefined && script.cachedDataRejected !== true) return { script, cache: 'hit' }
    await store.del(key).catch(() => {})
    const fresh = await produce(isolate, manifest.name, hit.text, filename)
    await store.put(key, encode(hit.text, fresh.data)).catch(() => {})
    return { script: fresh.script, cache: 'rejected' }
  }
  const text = toScript(manifest.name, code)
  const fresh = await produce(isolate, manifest.name, text, filename)
  await store.put(key, encode(text, fresh.data)).catch(() => {})
  return { script: fresh.script, cache: 'miss' }
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
