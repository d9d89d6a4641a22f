import { LevelEvents, type GpioPin, type Level } from './gpio-pin.js'

/**
 * An output line through the kernel's sysfs GPIO interface (`onoff`). The line number is the
 * kernel's global GPIO number (on Linux 6.6+ Raspberry Pi kernels BCM pin N is 512 + N).
 * The initial level is set as the line becomes an output, so the relay never glitches.
 */
export const openLinuxGpioPin = async (line: number, initial: Level): Promise<GpioPin> => {
  // Loaded on first use, so that machines without the native addon can still run simulations.
  const { Gpio } = (await import('onoff')).default
  if (!Gpio.accessible) throw new Error(`GPIO ${line}: no accessible /sys/class/gpio on this machine`)
  const gpio = new Gpio(line, initial === 1 ? 'high' : 'low')
  const events = new LevelEvents()
  let level: Level = initial
  let closed = false
  return {
    line,
    read: async () => await gpio.read(),
    write: async (v) => {
      if (closed) throw new Error(`GPIO ${line} is closed`)
      await gpio.write(v)
      if (v !== level) { level = v; events.emit(v) }
    },
    onChange: (listener) => events.on(listener),
    close: async () => { closed = true; events.clear(); gpio.unexport() }
  }
}
