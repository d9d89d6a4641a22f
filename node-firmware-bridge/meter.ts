/** One reading: mean power over the meter's window, stamped at the middle of that window. */
export interface PowerReading {
  readonly watts: number
  readonly atMs: number
  /** Length of the window the reading averages, ms (unknown: the whole interval since the previous reading). */
  readonly windowMs?: number
}

/** Anything that tells the board's power draw: the INA219, or the surrogate model. */
export interface PowerMeter {
  readonly source: 'ina219' | 'surrogate'
  /** Rejects with WISP_SENSOR when the sensor cannot be read. */
  read: () => Promise<PowerReading>
  close: () => Promise<void>
}
