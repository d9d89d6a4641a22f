import type { BoardView, ClusterView, Decision, PowerAction, PowerPolicy } from './types.js'
import { idleWattsPerCapacity } from './power-gate.js'

/**
 * Demand response: a cluster power cap (W) held by gating boards. Wraps any power policy: its
 * wakes are kept only while the estimated cluster power stays under the cap, and while the
 * estimate is over it, the least useful powered boards (fewest in flight, then the most idle
 * watts per unit of capacity) are gated, always leaving one routable board. `cap(now)` = null: no
 * cap. Pure: the cap is read from the caller's state (the grid topic live, a schedule in the simulator).
 *
 * Why idle watts per capacity, not watts at full load: under a cap, what a kept board spends of the
 * budget before doing any work is its idle draw, and the rest of the cap is the headroom its work
 * runs in. Gating by full-load efficiency once kept a Raspberry Pi 4 alone (2.7 W idle) under a
 * 3.3 W cap, with 0.6 W (about half a core) of headroom: every burst of work went over the cap (22 %
 * in one run). A Zero 2 W and an Orange Pi Zero 3 idle at 1.6 W together and keep 1.7 W of headroom.
 */
const powered = (b: BoardView): boolean => b.power === 'on' || b.power === 'booting' || b.power === 'draining' || b.power === 'shutting-down'
/** A board's draw as the cap counts it: its latest gossiped power (modelled while its sensor fails), or the profile's boot draw while booting. */
export const drawW = (b: BoardView): number => b.power === 'booting' ? (b.profile.idle_w + b.profile.peak_w) / 2 : b.powerW
export const clusterDrawW = (view: ClusterView): number => view.boards.reduce((s, b) => s + (powered(b) ? drawW(b) : 0), 0)
/** True when the cluster draws no more than the cap (or there is none). */
export const underCap = (view: ClusterView, capW: number | null): boolean => capW === null || clusterDrawW(view) <= capW

export const withCap = (inner: PowerPolicy, cap: (now: number) => number | null): PowerPolicy => ({
  name: `${inner.name}+cap`,
  intervalMs: inner.intervalMs,
  tick (view, scale, rng) {
    const plan = inner.tick(view, scale, rng)
    const capW = cap(view.now)
    if (capW === null) return plan
    let est = clusterDrawW(view)
    const actions: PowerAction[] = []
    const dropped: string[] = []
    const gating = new Set(plan.actions.filter((a) => a.op === 'gate').map((a) => a.board))
    for (const b of view.boards) if (gating.has(b.id)) est -= drawW(b)
    for (const a of plan.actions) {
      if (a.op === 'gate') { actions.push(a); continue }
      const b = view.boards.find((x) => x.id === a.board)
      const add = b === undefined ? 0 : (b.profile.idle_w + b.profile.peak_w) / 2
      if (est + add > capW) { dropped.push(a.board); continue }
      est += add
      actions.push(a)
    }
    const gated: string[] = []
    if (est > capW) {
      const on = view.boards.filter((b) => b.power === 'on' && !gating.has(b.id))
      let routable = on.filter((b) => b.routable).length
      on.sort((a, b) => a.inflight - b.inflight || idleWattsPerCapacity(b.profile) - idleWattsPerCapacity(a.profile) || (a.id < b.id ? -1 : 1))
      for (const b of on) {
        if (est <= capW || routable <= 1) break
        actions.push({ board: b.id, op: 'gate' })
        gated.push(b.id)
        est -= drawW(b)
        if (b.routable) routable--
      }
    }
    if (dropped.length === 0 && gated.length === 0) return plan
    const d: Decision = { kind: 'power', policy: 'cap', at: view.now, choice: null, scores: {}, inputs: { cap_w: capW, estimate_w: est, dropped_wakes: dropped, gated }, reason: `cluster power cap ${capW} W` }
    return { actions, decisions: [...plan.decisions, d] }
  }
})
