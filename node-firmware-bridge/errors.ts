import { WispError } from '../runtime/shared/errors.js'

const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`

/** Names a device on a bus the way an installer would look for it (`i2cdetect -y <bus>`). */
export const where = (bus: number, address: number): string => `I2C bus ${bus} address ${hex(address)}`

/** Every sensor failure is a WISP_SENSOR error naming the bus and address, with the cause kept. */
export const sensorError = (bus: number, address: number, what: string, cause?: unknown): WispError => {
  const why = cause === undefined ? '' : `: ${cause instanceof Error ? cause.message : String(cause)}`
  return new WispError('WISP_SENSOR', `INA219 on ${where(bus, address)}: ${what}${why}`, { cause })
}
