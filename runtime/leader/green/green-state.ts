import type { BoardProfile } from '../../../boards/schema.js'
import type { Receipt } from '../../protocol/messages.js'
import type { Rng } from '../../shared/rng.js'
import { intensityAt } from '../policies/carbon-signal.js'
import { GREEN_DEFAULTS, planStart, viewFor, type GreenParams, type InvokeOptions } from '../policies/green.js'
import { EnergyLearner, UNKNOWN_REF_MS } from '../policies/learner.js'
import type { ClusterView } from '../policies/types.js'
import { CarbonBook } from './carbon-book.js'
import { receiptFigures } from './pricing.js'
import { z } from 'zod'
import { parseJsonLimited } from '../../protocol/json-limits.js'
import { WispError } from '../../shared/errors.js'
import { firstIssue } from '../../shared/zod-issue.js'

const CapMessageSchema = z.object({ watts: z.number().positive().max(1e6).nullable() }).strict()
import type { GreenSetup } from './green-config.js'
import { pickVariant, VARIANT_DEFAULTS, type VariantParams } from '../policies/variants.js'
import type { Manifest } from '../../protocol/messages.js'

/**
 * The leader's carbon-and-cost side: the carbon book, prices, and the learner of run time and
 * energy per function × profile. It calls the shared pure policy (policies/green.ts); the
 * simulator calls the same functions with its own learner and signal.
 */
export class GreenState {
  readonly learner = new EnergyLearner()
  /** Demand response: the cluster power cap (W) from `<prefix>/grid/cap`; null = none. */
  capW: number | null = null
  constructor (readonly setup: GreenSetup = { book: new CarbonBook(), priceOf: () => ({ perJoule: 0, perBoardSecond: 0 }) }, readonly params: GreenParams = GREEN_DEFAULTS, readonly variantParams: VariantParams = VARIANT_DEFAULTS) {}

  /**
   * The function that runs an invocation of `m` whose caller accepts variants: `m` itself or one of
   * its deployed `variants` (the shared policy: policies/variants.ts). Null when the caller does not
   * accept variants or the function has none.
   */
  /** `view` may be given as a function: it is then built only when the caller accepts variants and the function has some. */
  variant (viewOf: ClusterView | (() => ClusterView), m: Manifest, o: InvokeOptions | undefined, manifest: (fn: string) => Manifest | undefined): { fn: string, manifest: Manifest, reason: string } | null {
    if (o?.acceptVariants !== true || m.variants === undefined) return null
    const view = typeof viewOf === 'function' ? viewOf() : viewOf
    const candidates = [m.name, ...m.variants.filter((v) => v !== m.name && manifest(v) !== undefined)]
    const gNow = intensityAt(this.setup.book.signalFor(null), view.now)
    const pick = pickVariant({ view, candidates, gNow, capW: this.capW, learner: this.learner, refMs: (fn) => GreenState.refMs(view, fn) }, this.variantParams)
    return { fn: pick.fn, manifest: manifest(pick.fn) ?? m, reason: pick.reason }
  }

  static refMs (view: ClusterView, fn: string): number {
    const ms = view.fns?.[fn]?.serviceMs ?? 0
    return ms > 0 ? ms : UNKNOWN_REF_MS
  }

  /** The view an invocation with options is routed on (throws WISP_OVER_BUDGET when no board fits its budget). */
  routeView (view: ClusterView, fn: string, o: InvokeOptions | undefined, deadline: number): ClusterView {
    if (o === undefined || (o.budgetMj === undefined && o.deadlineMs === undefined)) return view
    return viewFor(view, fn, o, o.deadlineMs === undefined ? null : deadline, this.learner, GreenState.refMs(view, fn))
  }

  /** When a deferrable invocation should start (null = now), from the default site's forecast. */
  deferral (view: ClusterView, fn: string, o: InvokeOptions | undefined, deadline: number, rng: Rng): { notBefore: number, latestStart: number } | null {
    if (o?.deferrable !== true) return null
    const ref = GreenState.refMs(view, fn)
    let runMs = ref
    for (const b of view.boards) runMs = Math.max(runMs, this.learner.estimate(fn, b.profile, ref).runMs.mean)
    const plan = planStart({ now: view.now, deadlineAt: deadline, runMs, signal: this.setup.book.signalFor(null) }, rng, this.params)
    return { notBefore: plan.startAt, latestStart: plan.latestStart }
  }

  /** Applies a `<prefix>/grid/cap` message: `{"watts": N}` sets the cap, `{"watts": null}` lifts it. Malformed: WISP_BAD_PAYLOAD. */
  applyCap (payload: Uint8Array): void {
    const raw = parseJsonLimited(payload, { maxBytes: 1024, maxDepth: 2 }, 'cap message')
    const r = CapMessageSchema.safeParse(raw)
    if (!r.success) {
      const { where, message } = firstIssue(r.error)
      throw new WispError('WISP_BAD_PAYLOAD', `cap message: ${where}: ${message}`)
    }
    this.capW = r.data.watts
  }

  /**
   * A board's receipt with `carbon_mg` and `cost` added (intensity at the board's signal when the
   * run started); the learner learns from it unless `metered` is false (the board's power sensor
   * was failing: its energy figure is not a measurement).
   */
  onReceipt (fn: string, r: Receipt, profile: BoardProfile | undefined, now: number, refMs: () => number, metered = true): Receipt {
    if (profile !== undefined && metered) this.learner.observe(fn, profile, r.run_ms, r.energy_mj, this.learner.knows(fn, profile) ? UNKNOWN_REF_MS : refMs())
    const g = intensityAt(this.setup.book.signalFor(r.board), now - r.run_ms / 2)
    return { ...r, ...receiptFigures(r.energy_mj, r.run_ms, g, this.setup.priceOf(r.board)) }
  }
}
