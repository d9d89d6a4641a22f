import type { BoardProfile } from '../boards/schema.js'
import type { Clock } from '../runtime/shared/clock.js'
import type { PowerMeter } from './meter.js'

/** The profile's power line: idle + (peak − idle) · utilisation (utilisation clamped to 0..1). */
export const profilePowerW = (profile: Pick<BoardProfile, 'idle_w' | 'peak_w'>, utilisation: number): number =>
  profile.idle_w + (profile.peak_w - profile.idle_w) * Math.max(0, Math.min(1, utilisation))

/**
 * Stands in for a missing sensor: power from CPU utilisation by the profile's figures. The
 * utilisation is measured since the previous read, so the reading belongs to that window's middle.
 */
export const surrogateMeter = (profile: Pick<BoardProfile, 'idle_w' | 'peak_w'>, clock: Clock, utilisation: () => number): PowerMeter => {
  let last = clock.now()
  return {
    source: 'surrogate',
    read: async () => {
      const now = clock.now()
      const atMs = (last + now) / 2
      const windowMs = now - last
      last = now
      return { watts: profilePowerW(profile, utilisation()), atMs, windowMs }
    },
    close: async () => {}
  }
}
