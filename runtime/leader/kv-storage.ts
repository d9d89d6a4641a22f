/**
 * The functions' key-value state (`context.kv`) as the capability server uses it: LevelDB for
 * one gateway (kv-store.ts), Redis for clustered gateways (redis-kv-store.ts), so a new leader
 * reads what handlers stored under the previous one. `fn` is the namespace the gateway chose
 * from the invocation; values are JSON text; `now` is the leader's clock (epoch ms).
 */
export interface KvStorage {
  /** The value's JSON text, or undefined (also once its TTL has passed). */
  get: (fn: string, key: string, now: number) => Promise<string | undefined>
  put: (fn: string, key: string, json: string, ttlMs: number | undefined, now: number) => Promise<void>
  delete: (fn: string, key: string) => Promise<void>
  /** Keys of `fn` starting with `prefix`, in order, at most CAP_LIMITS.listKeys, none expired. */
  list: (fn: string, prefix: string, now: number) => Promise<string[]>
  close: () => Promise<void>
}
