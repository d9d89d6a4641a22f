import type { BoardProfile } from './schema.js'

/** Boards with at least this much memory keep a standby isolate host unless their profile says otherwise. */
export const STANDBY_HOST_MIN_MEMORY_MB = 1024

/**
 * Whether a board keeps a standby isolate host: the profile's `standby_host` if set, else only
 * where memory allows (on a 512 MB board a second idle Node process is a tenth of its memory).
 */
export const standbyHost = (profile: Pick<BoardProfile, 'memory_mb' | 'standby_host'>): boolean =>
  profile.standby_host ?? profile.memory_mb >= STANDBY_HOST_MIN_MEMORY_MB
