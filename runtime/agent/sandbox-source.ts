import ivm from 'isolated-vm'
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'

const FILENAME = 'file:///wisp/sandbox.js'
let source: Promise<string> | undefined
/** V8's cached data for the prelude: the same for every isolate of this process. */
let cachedData: ivm.ExternalCopy<ArrayBuffer> | undefined
type CachedScript = ivm.Script & { readonly cachedData?: ivm.ExternalCopy<ArrayBuffer>, readonly cachedDataRejected?: boolean }

/**
 * The isolate-side prelude as one script, bundled from sandbox.isolate.ts once per process
 * (asynchronously, so a host starting up is not blocked). Bundling (rather than `.toString()`
 * of host functions) keeps tsx/esbuild's `__name` helpers out of the isolate, where they would
 * not exist. The wrapper makes the script's completion value the prelude's `setup` function
 * and removes the global it came through within the same run.
 */
export const sandboxSource = async (): Promise<string> => {
  source ??= build({
    entryPoints: [fileURLToPath(new URL('./sandbox.isolate.ts', import.meta.url))],
    bundle: true,
    format: 'iife',
    target: 'es2022',
    platform: 'neutral',
    keepNames: false,
    minify: false,
    write: false,
    logLevel: 'silent'
  }).then((out) => {
    const file = out.outputFiles[0]
    if (file === undefined) throw new Error('sandbox bundle produced no output')
    return file.text + '\n;(() => { const s = globalThis.__wisp_setup; delete globalThis.__wisp_setup; return s })()\n'
  })
  source.catch(() => { source = undefined })
  return await source
}

/** Compiles the prelude into an isolate, from (or producing) the process's cached data. */
export const compilePrelude = async (isolate: ivm.Isolate): Promise<ivm.Script> => {
  const text = await sandboxSource()
  const known = cachedData
  if (known !== undefined) {
    const s: CachedScript = await isolate.compileScript(text, { filename: FILENAME, cachedData: known })
    if (s.cachedDataRejected !== true) return s
  }
  const s: CachedScript = await isolate.compileScript(text, { filename: FILENAME, produceCachedData: true })
  cachedData ??= s.cachedData
  return s
}

/** The host's handles on one context: the prelude's entry point, taken before user code ran. */
export interface PreludeContext {
  readonly context: ivm.Context
  /** `call(op, ...args)` in the context (see sandbox.isolate.ts). */
  readonly call: ivm.Reference
}

/**
 * A new context with the prelude installed, in three round trips to the isolate (create,
 * run the prelude, hand it the host's sleep): before, it took seven `set`/`get`/`delete`s.
 */
export const installPrelude = async (isolate: ivm.Isolate, prelude: ivm.Script, sleep: ivm.Reference): Promise<PreludeContext> => {
  const context = await isolate.createContext()
  try {
    const setup = await prelude.run(context, { reference: true }) as ivm.Reference
    const call = await setup.apply(undefined, [sleep], { result: { reference: true } }) as ivm.Reference
    setup.release()
    return { context, call }
  } catch (err) {
    try { context.release() } catch { /* isolate gone */ }
    throw err
  }
}
