import { createRequire } from 'node:module'

/** Where compiled function code is kept between runtimes and restarts (bytes by key). */
export interface CodeCacheStore {
  get: (key: string) => Promise<Uint8Array | undefined>
  put: (key: string, value: Uint8Array) => Promise<void>
  del: (key: string) => Promise<void>
  close?: () => Promise<void>
}

const ivmVersion = (): string => {
  try {
    const pkg = createRequire(import.meta.url)('isolated-vm/package.json') as { version?: string }
    return pkg.version ?? 'unknown'
  } catch {
    return 'unknown'
  }
}
const IVM_VERSION = ivmVersion()
/** Bumped when the module transform changes, so old entries stop matching. */
const FORMAT = 2

/**
 * V8 only accepts cached data made by the same V8 build for the same source, so the key
 * names the code's hash, the isolated-vm and Node versions and the transform format.
 */
export const codeCacheKey = (sha256: string): string =>
  `code:${sha256}:ivm${IVM_VERSION}:node${process.version}:f${FORMAT}`

/** A cache that lives as long as the process (the default, and for tests). */
export class MemoryCodeCache implements CodeCacheStore {
  private readonly map = new Map<string, Uint8Array>()
  get = async (key: string): Promise<Uint8Array | undefined> => this.map.get(key)
  put = async (key: string, value: Uint8Array): Promise<void> => { this.map.set(key, value) }
  del = async (key: string): Promise<void> => { this.map.delete(key) }
  get size (): number { return this.map.size }
}
