/** INA219 register map, configuration fields and calibration arithmetic (TI SBOS448). */

/** Register pointers, SBOS448 §8.6.1 Table 2. */
export const REG = { config: 0x00, shunt: 0x01, bus: 0x02, power: 0x03, current: 0x04, calibration: 0x05 } as const

/** Power-on values, SBOS448 §8.6.1 Table 2: 399Fh = 32 V, PGA /8, 12-bit, shunt and bus continuous. */
export const CONFIG_DEFAULT = 0x399f
export const CONFIG_RESET_BIT = 0x8000

/** LSBs fixed by the chip, SBOS448 §8.6.3.1 and §8.6.3.2. */
export const SHUNT_LSB_V = 10e-6
export const BUS_LSB_V = 4e-3

/** Bus voltage register flags, SBOS448 §8.6.3.2. */
export const BUS_CNVR = 0x2
export const BUS_OVF = 0x1

export type BusRange = 16 | 32
export type Gain = 1 | 2 | 4 | 8
export type AdcSetting = '9bit' | '10bit' | '11bit' | '12bit' | 'avg2' | 'avg4' | 'avg8' | 'avg16' | 'avg32' | 'avg64' | 'avg128'
export type Mode = 'power-down' | 'shunt-triggered' | 'bus-triggered' | 'shunt-bus-triggered' | 'adc-off' | 'shunt-continuous' | 'bus-continuous' | 'shunt-bus-continuous'

export interface Ina219Config {
  readonly busRange: BusRange
  readonly gain: Gain
  readonly busAdc: AdcSetting
  readonly shuntAdc: AdcSetting
  readonly mode: Mode
}

const MODES: readonly Mode[] = ['power-down', 'shunt-triggered', 'bus-triggered', 'shunt-bus-triggered', 'adc-off', 'shunt-continuous', 'bus-continuous', 'shunt-bus-continuous']
const GAINS: readonly Gain[] = [1, 2, 4, 8]

/** BADC/SADC codes and conversion times, SBOS448 §8.6.2.1 Table 5 (0X00..0X11 ignore bit 2; 1000 is 12-bit). */
const ADC: Record<AdcSetting, { code: number, us: number, bits: number }> = {
  '9bit': { code: 0b0000, us: 84, bits: 9 },
  '10bit': { code: 0b0001, us: 148, bits: 10 },
  '11bit': { code: 0b0010, us: 276, bits: 11 },
  '12bit': { code: 0b0011, us: 532, bits: 12 },
  avg2: { code: 0b1001, us: 1060, bits: 12 },
  avg4: { code: 0b1010, us: 2130, bits: 12 },
  avg8: { code: 0b1011, us: 4260, bits: 12 },
  avg16: { code: 0b1100, us: 8510, bits: 12 },
  avg32: { code: 0b1101, us: 17020, bits: 12 },
  avg64: { code: 0b1110, us: 34050, bits: 12 },
  avg128: { code: 0b1111, us: 68100, bits: 12 }
}

const adcFromCode = (code: number): AdcSetting => {
  if ((code & 0b1000) === 0) return (['9bit', '10bit', '11bit', '12bit'] as const)[code & 0b11] ?? '12bit'
  if (code === 0b1000) return '12bit'
  return (Object.entries(ADC).find(([, v]) => v.code === code)?.[0] ?? '12bit') as AdcSetting
}

export const adcTimeUs = (s: AdcSetting): number => ADC[s].us
export const adcBits = (s: AdcSetting): number => ADC[s].bits

/** Full-scale shunt voltage of each PGA setting, SBOS448 §8.6.2.1 Table 4. */
export const shuntFullScaleV = (gain: Gain): number => 0.04 * gain

/** Configuration register layout, SBOS448 §8.6.2.1: RST | - | BRNG | PG1..0 | BADC4..1 | SADC4..1 | MODE3..1. */
export const encodeConfig = (c: Ina219Config): number =>
  ((c.busRange === 32 ? 1 : 0) << 13) | (GAINS.indexOf(c.gain) << 11) | (ADC[c.busAdc].code << 7) | (ADC[c.shuntAdc].code << 3) | MODES.indexOf(c.mode)

export const decodeConfig = (w: number): Ina219Config => ({
  busRange: (w & 0x2000) !== 0 ? 32 : 16,
  gain: GAINS[(w >> 11) & 0b11] ?? 8,
  busAdc: adcFromCode((w >> 7) & 0xf),
  shuntAdc: adcFromCode((w >> 3) & 0xf),
  mode: MODES[w & 0b111] ?? 'shunt-bus-continuous'
})

export const isTriggered = (m: Mode): boolean => m === 'shunt-triggered' || m === 'bus-triggered' || m === 'shunt-bus-triggered'
export const isContinuous = (m: Mode): boolean => m === 'shunt-continuous' || m === 'bus-continuous' || m === 'shunt-bus-continuous'
export const convertsShunt = (m: Mode): boolean => m === 'shunt-triggered' || m === 'shunt-bus-triggered' || m === 'shunt-continuous' || m === 'shunt-bus-continuous'
export const convertsBus = (m: Mode): boolean => m === 'bus-triggered' || m === 'shunt-bus-triggered' || m === 'bus-continuous' || m === 'shunt-bus-continuous'

export interface Calibration {
  /** Value for the calibration register (bit 0 is void and reads 0, SBOS448 §8.6.4.1). */
  readonly cal: number
  readonly currentLsbA: number
  readonly powerLsbW: number
}

/**
 * SBOS448 §8.5.1 equations 1-3: Current_LSB = Max_Expected_I / 2^15,
 * Cal = trunc(0.04096 / (Current_LSB · R_shunt)), Power_LSB = 20 · Current_LSB.
 * `currentLsbA` may be given to pick a rounder LSB, as the datasheet's example does (1 mA).
 */
export const calibrationFor = (shuntOhm: number, maxCurrentA: number, currentLsbA = maxCurrentA / 32768): Calibration => {
  const raw = Math.trunc(0.04096 / (currentLsbA * shuntOhm))
  if (!(raw >= 1 && raw <= 0xfffe)) throw new RangeError(`calibration ${raw} out of range for R=${shuntOhm} Ω, Current_LSB=${currentLsbA} A`)
  return { cal: raw & 0xfffe, currentLsbA, powerLsbW: 20 * currentLsbA }
}

/** The smallest PGA range that holds the shunt drop at the maximum expected current. */
export const gainFor = (shuntOhm: number, maxCurrentA: number): Gain =>
  GAINS.find((g) => shuntFullScaleV(g) >= shuntOhm * maxCurrentA) ?? 8

/** Two's complement of a 16-bit register. */
export const int16 = (w: number): number => (w & 0x8000) !== 0 ? (w & 0xffff) - 0x10000 : w & 0xffff
