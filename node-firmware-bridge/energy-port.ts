/** What the agent asks of the power meter (node-firmware-bridge implements it). */
export interface EnergyShare { readonly energy_mj: number, readonly power_w: number }

export interface EnergyPort {
  readonly source: 'ina219' | 'surrogate'
  start: () => Promise<void>
  stop: () => Promise<void>
  /** Latest board power, W (0 until hasReading()). */
  powerW: () => number
  /** False while the sensor keeps failing (powerW() is then stale); absent = always known. */
  powerKnown?: () => boolean
  /** False until the meter has produced its first sample. */
  hasReading: () => boolean
  /** Resolves true at the first sample, false if none came within timeoutMs. */
  firstReading: (timeoutMs: number) => Promise<boolean>
  /** Energy since start, J. */
  energyJ: () => number
  /** An invocation starts running on the board. */
  begin: (invocation: string, fn: string) => void
  /** It ended, having used cpuMs of CPU; returns its attributed energy and mean power. */
  end: (invocation: string, cpuMs: number) => EnergyShare
  /** Recent samples for the status page: [t ms, watts]. */
  recent: () => ReadonlyArray<readonly [number, number]>
}
