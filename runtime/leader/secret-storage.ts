import type { Env } from '../protocol/secrets.js'

/** What the admin handlers and the leader ask of the functions' secrets (secret-store.ts). */
export interface SecretStorage {
  set: (fn: string, name: string, value: string) => Promise<void>
  /** Whether there was such a secret. */
  remove: (fn: string, name: string) => Promise<boolean>
  /** Drops all secrets of a removed function. */
  forget: (fn: string) => Promise<void>
  /** The names of `fn`'s secrets, sorted (never their values). */
  names: (fn: string) => string[]
  /** `fn`'s secrets for its run messages, or undefined when it has none. */
  env: (fn: string) => Env | undefined
  close: () => Promise<void>
}

/**
 * Where sealed secrets live, by place (`<fn>/<NAME>` → base64 of AES-256-GCM output): LevelDB
 * for one gateway, a Redis hash for clustered gateways (redis-secrets.ts). Never plaintext.
 */
export interface SealedSecrets {
  entries: () => AsyncIterable<readonly [string, string]>
  put: (place: string, sealed: string) => Promise<void>
  del: (places: readonly string[]) => Promise<void>
  close: () => Promise<void>
}
