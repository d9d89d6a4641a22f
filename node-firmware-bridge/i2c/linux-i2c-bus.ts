import i2c from 'i2c-bus'
import type { I2cBus } from './i2c-bus.js'

/** Opens /dev/i2c-N through the kernel's i2c-dev interface. Rejects when the adapter is missing. */
export const openLinuxI2cBus = async (busNumber: number): Promise<I2cBus> => {
  const bus = await i2c.openPromisified(busNumber)
  return {
    busNumber,
    readWord: async (address, register) => await bus.readWord(address, register),
    writeWord: async (address, register, word) => { await bus.writeWord(address, register, word & 0xffff) },
    readByte: async (address, register) => await bus.readByte(address, register),
    writeByte: async (address, register, byte) => { await bus.writeByte(address, register, byte & 0xff) },
    close: async () => { await bus.close() }
  }
}
