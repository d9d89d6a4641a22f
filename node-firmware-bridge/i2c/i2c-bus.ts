/**
 * One I2C/SMBus adapter. Word transfers follow SMBus: the first byte on the wire is the low
 * byte of the number (SMBus 3.0 §6.5.5). Devices that send MSB first (the INA219 does) need
 * their words swapped by the driver. A device that does not acknowledge rejects the promise.
 */
export interface I2cBus {
  /** The adapter number, N in /dev/i2c-N; used in error messages. */
  readonly busNumber: number
  readWord: (address: number, register: number) => Promise<number>
  writeWord: (address: number, register: number, word: number) => Promise<void>
  readByte: (address: number, register: number) => Promise<number>
  writeByte: (address: number, register: number, byte: number) => Promise<void>
  close: () => Promise<void>
}

/** Swaps the two bytes of a 16-bit word (big-endian register ↔ SMBus little-endian word). */
export const swap16 = (w: number): number => ((w & 0xff) << 8) | ((w >> 8) & 0xff)
