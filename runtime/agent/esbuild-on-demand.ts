import type * as Esbuild from 'esbuild'

/** A bundler service idle this long is stopped: it is a process of about 12 MB. */
export const ESBUILD_IDLE_MS = 2000

let loaded: Promise<typeof Esbuild> | undefined
let active = 0
let idle: NodeJS.Timeout | undefined

/**
 * Runs `use` with esbuild, loaded on first use (a host that only runs cached code never loads
 * it) and its service process stopped once no build has run for ESBUILD_IDLE_MS; the next
 * build starts it again. Only a cold start without a code-cache entry needs it.
 */
export const withEsbuild = async <T>(use: (esbuild: typeof Esbuild) => Promise<T>): Promise<T> => {
  clearTimeout(idle)
  active++
  try {
    loaded ??= import('esbuild')
    return await use(await loaded)
  } finally {
    if (--active === 0) {
      idle = setTimeout(() => { void loaded?.then(async (e) => { if (active === 0) await e.stop() }).catch(() => {}) }, ESBUILD_IDLE_MS)
      idle.unref()
    }
  }
}
