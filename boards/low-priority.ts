import type { BoardConfig, BoardProfile } from './schema.js'

/** Boards with at least this much memory run long functions in a low-priority isolate host unless told otherwise. */
export const LOW_PRIORITY_HOST_MIN_MEMORY_MB = 1024

/**
 * Whether a board runs the functions it measured as long in a second, low-priority isolate host:
 * the board config's `low_priority_host` if set, else the profile's, else only where memory allows
 * (on a 512 MB board a second Node process is a tenth of its memory).
 */
export const lowPriorityHost = (profile: Pick<BoardProfile, 'memory_mb' | 'low_priority_host'>, config?: Pick<BoardConfig, 'low_priority_host'>): boolean =>
  config?.low_priority_host ?? profile.low_priority_host ?? profile.memory_mb >= LOW_PRIORITY_HOST_MIN_MEMORY_MB
