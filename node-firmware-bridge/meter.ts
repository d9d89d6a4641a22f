/** Anything that tells the board's power draw now: the INA219, or the surrogate model. */
export interface PowerMeter {
  readonly source: 'ina219' | 'surrogate'
  /** Board power, W. Rejects with WISP_SENSOR when the sensor cannot be read. */
  read: () => Promise<number>
  close: () => Promise<void>
}
