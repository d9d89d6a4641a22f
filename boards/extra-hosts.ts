import type { BoardConfig, BoardProfile } from './schema.js'

/**
 * Boards with at least this much memory run the extra isolate host processes (a standby host, a
 * low-priority host for long functions) unless their profile or config says otherwise: each is
 * a Node process (about 45 MB on x86-64), a tenth of a 512 MB board's memory.
 */
export const EXTRA_HOST_MIN_MEMORY_MB = 1024

/** Whether a board keeps a standby isolate host: the profile's `standby_host` if set, else where memory allows. */
export const standbyHost = (profile: Pick<BoardProfile, 'memory_mb' | 'standby_host'>): boolean =>
  profile.standby_host ?? profile.memory_mb >= EXTRA_HOST_MIN_MEMORY_MB

/**
 * Whether a board runs the functions it measured as long in a second, low-priority isolate host:
 * the board config's `low_priority_host` if set, else the profile's, else off. Opt-in for now:
 * in a trace replay on a 2 GB board, 23 of 1,435 invocations of one function that moved between
 * the hosts failed with WISP_BAD_CODE (cause not found yet), so no board runs it by default.
 */
export const lowPriorityHost = (profile: Pick<BoardProfile, 'memory_mb' | 'low_priority_host'>, config?: Pick<BoardConfig, 'low_priority_host'>): boolean =>
  config?.low_priority_host ?? profile.low_priority_host ?? false
