import { z } from 'zod'
import { WispError } from '../../shared/errors.js'
import { parseJsonLimited } from '../../protocol/json-limits.js'
import { firstIssue } from '../../shared/zod-issue.js'
import { constantSignal, MAX_INTENSITY, seriesSignal, type CarbonSignal } from '../policies/carbon-signal.js'
import { NAME_RE } from '../../protocol/topics.js'

/** The site a board belongs to when the config names none. */
export const DEFAULT_SITE = 'default'

const g = z.number().min(0).max(MAX_INTENSITY)
/** A message on `<prefix>/grid/carbon`: the intensity now, optionally a forecast, for a site (default: every board without its own) or one board. */
export const CarbonMessageSchema = z.object({
  g_per_kwh: g,
  site: z.string().regex(NAME_RE).optional(),
  board: z.string().regex(NAME_RE).optional(),
  /** Future points (ms since the epoch), each holding until the next. */
  forecast: z.array(z.object({ at: z.number(), g_per_kwh: g }).strict()).max(1000).optional()
}).strict()

/**
 * The carbon signals the leader reads: one per site (and optionally per board), each a constant,
 * a CSV series or the latest message on `<prefix>/grid/carbon`. A board's signal is its own, else
 * its site's, else the default site's.
 */
export class CarbonBook {
  private readonly sites = new Map<string, CarbonSignal>()
  private readonly boards = new Map<string, CarbonSignal>()
  constructor (base: CarbonSignal = constantSignal(0), private readonly siteOf: Readonly<Record<string, string>> = {}, sites: Readonly<Record<string, CarbonSignal>> = {}) {
    this.sites.set(DEFAULT_SITE, base)
    for (const [s, sig] of Object.entries(sites)) this.sites.set(s, sig)
  }

  signalFor (board: string | null): CarbonSignal {
    if (board !== null) {
      const own = this.boards.get(board)
      if (own !== undefined) return own
      const site = this.sites.get(this.siteOf[board] ?? DEFAULT_SITE)
      if (site !== undefined) return site
    }
    return this.sites.get(DEFAULT_SITE) ?? constantSignal(0)
  }

  /** Applies one grid message received at `now`; throws WISP_BAD_PAYLOAD when it is malformed. */
  apply (payload: Uint8Array, now: number): void {
    const raw = parseJsonLimited(payload, { maxBytes: 64 * 1024, maxDepth: 4 }, 'carbon message')
    const r = CarbonMessageSchema.safeParse(raw)
    if (!r.success) {
      const { where, message } = firstIssue(r.error)
      throw new WispError('WISP_BAD_PAYLOAD', `carbon message: ${where}: ${message}`)
    }
    const m = r.data
    if (m.site !== undefined && m.board !== undefined) throw new WispError('WISP_BAD_PAYLOAD', 'carbon message: give site or board, not both')
    const sig = seriesSignal([{ at: now, g: m.g_per_kwh }, ...(m.forecast ?? []).filter((p) => p.at > now).map((p) => ({ at: p.at, g: p.g_per_kwh }))])
    if (m.board !== undefined) this.boards.set(m.board, sig)
    else this.sites.set(m.site ?? DEFAULT_SITE, sig)
  }
}
