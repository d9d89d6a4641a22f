import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { WispError } from '../../shared/errors.js'
import { constantSignal, MAX_INTENSITY, parseCarbonCsv, type CarbonSignal } from '../policies/carbon-signal.js'
import { CarbonBook } from './carbon-book.js'
import { FREE, type Price } from './pricing.js'
import { NAME_RE } from '../../protocol/topics.js'

const SignalSchema = z.object({
  /** A constant intensity (gCO2/kWh). */
  g_per_kwh: z.number().min(0).max(MAX_INTENSITY).optional(),
  /** A CSV file of `timestamp,gCO2/kWh` rows (ISO 8601 or ms since the epoch). */
  csv: z.string().min(1).optional()
}).strict().refine((s) => (s.g_per_kwh === undefined) !== (s.csv === undefined), { message: 'give exactly one of g_per_kwh and csv' })

const PriceSchema = z.object({
  per_joule: z.number().min(0).default(0),
  per_board_second: z.number().min(0).default(0)
}).strict()

const id = z.string().regex(NAME_RE)

/** Gateway config `green` (docs/gateway-config.md). */
export const GreenConfigSchema = z.object({
  /** The default site's signal; `<prefix>/grid/carbon` messages replace it while the gateway runs. */
  carbon: SignalSchema.optional(),
  /** Other sites' signals, by site name. */
  sites: z.record(id, SignalSchema).default({}),
  /** board id → site (boards not named are in the default site). */
  board_sites: z.record(id, id).default({}),
  price: PriceSchema.default({ per_joule: 0, per_board_second: 0 }),
  /** Per-board prices overriding `price`. */
  board_prices: z.record(id, PriceSchema).default({})
}).strict()
export type GreenConfig = z.infer<typeof GreenConfigSchema>

export interface GreenSetup {
  readonly book: CarbonBook
  readonly priceOf: (board: string) => Price
}

const signalOf = (s: { g_per_kwh?: number | undefined, csv?: string | undefined }, where: string, read: (f: string) => string): CarbonSignal => {
  if (s.csv === undefined) return constantSignal(s.g_per_kwh ?? 0)
  let text: string
  try { text = read(s.csv) } catch (err) { throw new WispError('WISP_BAD_CONFIG', `${where}: cannot read ${s.csv}: ${(err as Error).message}`) }
  return parseCarbonCsv(text, `${where} ${s.csv}`)
}

/** Builds the carbon book and prices from the config (`read` reads a CSV file; injectable for tests). */
export const greenSetup = (c: GreenConfig | undefined, read: (f: string) => string = (f) => readFileSync(f, 'utf8')): GreenSetup => {
  const cfg = c ?? GreenConfigSchema.parse({})
  const sites: Record<string, CarbonSignal> = {}
  for (const [s, sig] of Object.entries(cfg.sites)) sites[s] = signalOf(sig, `green.sites.${s}`, read)
  const base = cfg.carbon === undefined ? constantSignal(0) : signalOf(cfg.carbon, 'green.carbon', read)
  const toPrice = (p: { per_joule: number, per_board_second: number }): Price => ({ perJoule: p.per_joule, perBoardSecond: p.per_board_second })
  const dflt = cfg.price === undefined ? FREE : toPrice(cfg.price)
  return {
    book: new CarbonBook(base, cfg.board_sites, sites),
    priceOf: (board) => { const p = cfg.board_prices[board]; return p === undefined ? dflt : toPrice(p) }
  }
}
