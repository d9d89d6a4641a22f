import type { I2cBus } from './i2c-bus.js'

/**
 * A device model on a simulated bus, at the byte level: the pointer byte selects a register,
 * then bytes are written or read in wire order.
 */
export interface SimI2cDevice {
  write: (register: number, bytes: readonly number[]) => void
  read: (register: number, length: number) => number[]
}

/** What Linux reports when nobody acknowledges the address (errno 121). */
const nack = (bus: number, address: number): Error =>
  Object.assign(new Error(`EREMOTEIO: remote I/O error, no ACK from 0x${address.toString(16)} on i2c-${bus}`), { code: 'EREMOTEIO', errno: -121 })

/** A simulated adapter holding device models by address; an empty address NACKs, as on the wire. */
export class SimI2cBus implements I2cBus {
  private readonly devices = new Map<number, SimI2cDevice>()
  private closed = false
  /** While set, every transfer fails with it (a loose wire, a brown-out): see `fail`. */
  private fault: Error | null = null

  constructor (readonly busNumber = 1) {}

  /** Makes every transfer fail with Linux's EIO (errno 5) until called with false. */
  fail (on = true): void {
    this.fault = on ? Object.assign(new Error(`EIO: i/o error on i2c-${this.busNumber}`), { code: 'EIO', errno: -5 }) : null
  }

  attach (address: number, device: SimI2cDevice): this { this.devices.set(address, device); return this }
  detach (address: number): void { this.devices.delete(address) }

  private device (address: number): SimI2cDevice {
    if (this.closed) throw new Error(`i2c-${this.busNumber} is closed`)
    if (this.fault !== null) throw this.fault
    const d = this.devices.get(address)
    if (d === undefined) throw nack(this.busNumber, address)
    return d
  }

  readWord = async (address: number, register: number): Promise<number> => {
    const [lo = 0, hi = 0] = this.device(address).read(register, 2)
    return lo | (hi << 8)
  }

  writeWord = async (address: number, register: number, word: number): Promise<void> => {
    this.device(address).write(register, [word & 0xff, (word >> 8) & 0xff])
  }

  readByte = async (address: number, register: number): Promise<number> => this.device(address).read(register, 1)[0] ?? 0

  writeByte = async (address: number, register: number, byte: number): Promise<void> => {
    this.device(address).write(register, [byte & 0xff])
  }

  close = async (): Promise<void> => { this.closed = true }
}
