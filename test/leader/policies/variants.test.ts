import t from 'tap'
import { getProfile } from '../../../boards/index.js'
import type { BoardView, ClusterView } from '../../../runtime/leader/policies/types.js'
import { EnergyLearner } from '../../../runtime/leader/policies/learner.js'
import { pickVariant, VARIANT_DEFAULTS } from '../../../runtime/leader/policies/variants.js'
import { GreenState } from '../../../runtime/leader/green/green-state.js'
import { splitEnvelope } from '../../../runtime/leader/green/invoke-options.js'
import { buildManifest } from '../../../runtime/protocol/manifest.js'

const board = (id: string, profile: string, o: Partial<BoardView> = {}): BoardView => ({
  id, profile: getProfile(profile), power: 'on', routable: true, queueLen: 0, inflight: 0,
  serviceRate: 0, functions: {}, powerW: 1, lastSeenMs: 0, idleSinceMs: 0, ...o
})
const view = (boards: BoardView[]): ClusterView => ({ now: 0, boards })
const boards = [board('a', 'raspberry-pi-4b'), board('b', 'orange-pi-zero3')]

// A learner that has seen `exact` take 40x the energy of `approx` on both profiles.
const learned = (): EnergyLearner => {
  const l = new EnergyLearner()
  for (const b of boards) {
    for (let i = 0; i < 5; i++) {
      l.observe('exact', b.profile, 400, 2000, 100)
      l.observe('approx', b.profile, 10, 50, 100)
    }
  }
  return l
}

t.test('the cheaper learned variant runs only under high carbon or a tight cap', async (t) => {
  const learner = learned()
  const base = { view: view(boards), candidates: ['exact', 'approx'], learner, refMs: () => 100 }
  const low = pickVariant({ ...base, gNow: 50, capW: null })
  t.equal(low.fn, 'exact', 'low carbon, no cap: the function itself')
  t.equal(low.reason, 'default')
  t.ok((low.energyMj.exact ?? 0) > 10 * (low.energyMj.approx ?? 0), `learned energies ${JSON.stringify(low.energyMj)}`)
  const high = pickVariant({ ...base, gNow: VARIANT_DEFAULTS.highG, capW: null })
  t.same([high.fn, high.reason], ['approx', 'high-carbon'], 'high carbon: the cheaper variant')
  // Two boards at 1 W each: a 2.1 W cap is tight (≥ 90 %), a 10 W one is not.
  t.same([pickVariant({ ...base, gNow: 50, capW: 2.1 }).fn, pickVariant({ ...base, gNow: 50, capW: 2.1 }).reason], ['approx', 'tight-cap'])
  t.equal(pickVariant({ ...base, gNow: 50, capW: 10 }).fn, 'exact', 'a loose cap changes nothing')
  // What was learned decides, not the order: a "variant" that costs more is never picked.
  t.equal(pickVariant({ ...base, candidates: ['approx', 'exact'], gNow: 500, capW: null }).fn, 'approx')
  t.equal(pickVariant({ ...base, learner: new EnergyLearner(), gNow: 500, capW: null }).fn, 'exact', 'nothing learned: equal priors, the function itself')
})

t.test('the leader side: only with accept_variants, only deployed variants, and the envelope option parses', async (t) => {
  const g = new GreenState()
  for (const b of boards) for (let i = 0; i < 5; i++) { g.learner.observe('exact', b.profile, 400, 2000, 100); g.learner.observe('approx', b.profile, 10, 50, 100) }
  g.capW = 2.1
  const exact = buildManifest('exact', 'export async function handler () {}', { variants: ['approx'] })
  const approx = buildManifest('approx', 'export async function handler () {}')
  const deployed = (fn: string): typeof exact | undefined => ({ exact, approx } as Record<string, typeof exact>)[fn]
  t.equal(g.variant(view(boards), exact, undefined, deployed), null, 'no options: no variant')
  t.equal(g.variant(view(boards), exact, { acceptVariants: false }, deployed), null)
  t.equal(g.variant(view(boards), approx, { acceptVariants: true }, deployed), null, 'a function without variants')
  t.match(g.variant(view(boards), exact, { acceptVariants: true }, deployed), { fn: 'approx', manifest: approx, reason: 'tight-cap' })
  t.match(g.variant(view(boards), exact, { acceptVariants: true }, (fn) => fn === 'exact' ? exact : undefined), { fn: 'exact' }, 'an undeployed variant is skipped')
  t.same(splitEnvelope({ $wisp: { accept_variants: true }, event: 1 }).options, { acceptVariants: true })
  t.throws(() => splitEnvelope({ $wisp: { accept_variants: 'yes' } }), { code: 'WISP_BAD_PAYLOAD' })
  t.throws(() => buildManifest('f', 'x', { variants: ['Not A Name'] }), { code: 'WISP_BAD_CONFIG' })
})
