import type { BoardProfile } from '../../boards/schema.js'
import { profilePowerW } from '../../node-firmware-bridge/surrogate.js'

export { profilePowerW }

/** A powered board's draw with `busy` cores running: the profile's line at busy / cores (at most all cores). */
export const busyPowerW = (profile: Pick<BoardProfile, 'idle_w' | 'peak_w' | 'cores'>, busy: number): number =>
  profilePowerW(profile, Math.min(busy, profile.cores) / profile.cores)
