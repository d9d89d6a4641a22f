import type { Manifest } from '../protocol/messages.js'
import { WispError } from '../shared/errors.js'
import { MemoryCodeCache } from './code-cache.js'
import { IsolateRuntime } from './isolate-runtime.js'

/**
 * Checks a function before it is deployed or run: it must compile and its top level must
 * export a `handler` function. The top level runs in a throwaway isolate under the
 * function's own limits; `init` is not run. Rejects with WISP_BAD_CODE.
 */
export const validateFunction = async (manifest: Manifest, code: string): Promise<void> => {
  const m: Manifest = { ...manifest, timeout_ms: Math.min(manifest.timeout_ms, 2000) }
  try {
    const rt = await IsolateRuntime.create(m, code, new MemoryCodeCache(), {
      board: 'validate', maxResultBytes: 0, maxLogLines: 0, maxLogLineChars: 0, killGraceMs: 50
    }, () => {}, { skipInit: true })
    rt.dispose()
  } catch (err) {
    const e = err instanceof WispError ? err : new WispError('WISP_BAD_CODE', String(err))
    throw e.code === 'WISP_BAD_CODE' ? e : new WispError('WISP_BAD_CODE', `${manifest.name}: ${e.message}`)
  }
}
