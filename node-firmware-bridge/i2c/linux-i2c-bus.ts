import type { I2cBus } from './i2c-bus.js'

/** Opens /dev/i2c-N through the kernel's i2c-dev interface. Rejects when the adapter is missing. */
export const openLinuxI2cBus = async (busNumber: number): Promise<I2cBus> => {
  // Loaded on first use, so that machines without the native addon can still run simulations.
  const i2c = await import('i2c-bus')
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
