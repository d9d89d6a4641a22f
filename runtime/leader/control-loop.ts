import { every, type Clock } from '../shared/clock.js'
import type { Logger } from '../shared/log.js'
import type { Rng } from '../shared/rng.js'
import type { Leader } from './leader.js'
import type { PolicySet } from './policies/policy-sets.js'
import type { ScaleResult } from './policies/types.js'
import type { PowerController } from './power-controller.js'

const EMPTY_SCALE: ScaleResult = { targets: {}, forecast: {}, decisions: [] }

/**
 * The leader's periodic policies: scale (forecast → warm-runtime targets), place (targets →
 * per-board `control: warm` messages, sent only when they change) and power (gate / wake
 * through the PowerController). The same policy objects run unchanged in the simulator.
 */
export class ControlLoop {
  private readonly sent = new Map<string, number>()
  private lastScale: ScaleResult = EMPTY_SCALE
  private stops: Array<() => void> = []

  constructor (
    private readonly leader: Leader,
    private readonly set: PolicySet,
    private readonly rng: Rng,
    private readonly power: PowerController | null,
    private readonly log: Logger,
    private readonly clock: Clock
  ) {}

  start (): void {
    this.stops.push(every(this.clock, this.set.scale.intervalMs, () => this.guard('scale', () => this.scaleTick())))
    if (this.power !== null) this.stops.push(every(this.clock, this.set.power.intervalMs, () => this.guard('power', () => this.powerTick())))
  }

  stop (): void { for (const s of this.stops) s(); this.stops = [] }

  private guard (what: string, fn: () => void): void {
    try { fn() } catch (err) { this.log.warn(`${what} tick failed`, { err: (err as Error).message }) }
  }

  scaleTick (): void {
    const view = this.leader.policyView(true)
    const r = this.set.scale.tick(view, this.rng)
    this.lastScale = r
    const p = this.set.place.place(view, r.targets, this.rng)
    for (const d of [...r.decisions, ...p.decisions]) this.leader.recordDecision(d)
    const routable = new Set(view.boards.filter((b) => b.routable).map((b) => b.id))
    for (const [board, fns] of Object.entries(p.warm)) {
      if (!routable.has(board)) continue
      for (const [fn, runtimes] of Object.entries(fns)) {
        const key = `${board}/${this.leader.cluster.get(board)?.incarnation ?? ''}/${fn}`
        if (this.sent.get(key) === runtimes) continue
        this.sent.set(key, runtimes)
        this.leader.control(board, { v: 1, op: 'warm', fn, runtimes }).catch(() => this.sent.delete(key))
      }
    }
  }

  powerTick (): void {
    if (this.power === null) return
    const plan = this.set.power.tick(this.leader.policyView(), this.lastScale, this.rng)
    for (const d of plan.decisions) this.leader.recordDecision(d)
    for (const a of plan.actions) {
      if (a.op === 'gate') void this.power.gate(a.board)
      else void this.power.wake(a.board)
    }
  }
}
