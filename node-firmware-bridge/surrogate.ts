import type { BoardProfile } from '../boards/schema.js'
import type { PowerMeter } from './meter.js'

/** The profile's power line: idle + (peak − idle) · utilisation (utilisation clamped to 0..1). */
export const profilePowerW = (profile: Pick<BoardProfile, 'idle_w' | 'peak_w'>, utilisation: number): number =>
  profile.idle_w + (profile.peak_w - profile.idle_w) * Math.max(0, Math.min(1, utilisation))

/** Stands in for a missing sensor: power from CPU utilisation by the profile's figures. */
export const surrogateMeter = (profile: Pick<BoardProfile, 'idle_w' | 'peak_w'>, utilisation: () => number): PowerMeter => ({
  source: 'surrogate',
  read: async () => profilePowerW(profile, utilisation()),
  close: async () => {}
})
