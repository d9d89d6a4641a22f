import type { History } from '../protocol/admin.js'

/**
 * Where a clustered registry keeps the functions' version histories (redis-history.ts), so
 * `wisp describe` and `wisp rollback` work on whichever gateway leads. One gateway keeps them
 * in the registry's LevelDB (`ver:<fn>`) instead.
 */
export interface HistoryStorage {
  load: () => Promise<Map<string, History>>
  put: (fn: string, h: History) => Promise<void>
  remove: (fn: string) => Promise<void>
}
