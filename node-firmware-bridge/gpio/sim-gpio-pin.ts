import { LevelEvents, type GpioPin, type Level } from './gpio-pin.js'

/** A simulated output line; a simulated cluster listens with onChange to cut or restore a board. */
export class SimGpioPin implements GpioPin {
  private level: Level
  private closed = false
  private readonly events = new LevelEvents()

  constructor (readonly line: number, initial: Level = 0) { this.level = initial }

  read = async (): Promise<Level> => this.level

  write = async (v: Level): Promise<void> => {
    if (this.closed) throw new Error(`GPIO ${this.line} is closed`)
    if (v === this.level) return
    this.level = v
    this.events.emit(v)
  }

  onChange = (listener: (level: Level) => void): (() => void) => this.events.on(listener)

  close = async (): Promise<void> => { this.closed = true; this.events.clear() }
}
