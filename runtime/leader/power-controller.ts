import type { BoardProfile } from '../../boards/schema.js'
import type { PowerGate } from '../../node-firmware-bridge/index.js'
import type { Clock } from '../shared/clock.js'
import type { Logger } from '../shared/log.js'
import type { Leader } from './leader.js'

/** How often the controller looks again at a board it waits for (drained, offline). */
export const POWER_POLL_MS = 100

/** Resolves when `cond` holds, polling every POWER_POLL_MS on the clock (the PowerGate bounds the wait; `stop` ends it). */
const until = async (clock: Clock, cond: () => boolean, stopped: () => boolean): Promise<void> => {
  while (!cond()) {
    if (stopped()) throw new Error('power controller closed')
    await new Promise<void>((resolve) => { clock.setTimeout(resolve, POWER_POLL_MS) })
  }
}

/**
 * Executes the power policy's plan through one PowerGate (GPIO relay) per board, keeping the
 * cluster state's power field in step: shutting-down → gated on gate, booting → on on wake.
 * A board that stops gossiping while powered is power-cycled.
 */
export class PowerController {
  private readonly gates = new Map<string, PowerGate>()
  private closed = false

  constructor (private readonly leader: Leader, private readonly log: Logger, private readonly clock: Clock) {}

  add (id: string, gate: PowerGate): void { this.gates.set(id, gate) }
  close (): void { this.closed = true }
  has (id: string): boolean { return this.gates.has(id) }

  /** The ports a PowerGate needs, speaking to the board through the leader. */
  ports (id: string): { drain: () => Promise<void>, drained: () => Promise<void>, shutdown: () => Promise<void>, offline: () => Promise<void> } {
    const c = this.leader.cluster
    return {
      drain: async () => await this.leader.control(id, { v: 1, op: 'drain' }),
      drained: async () => await until(this.clock, () => (c.get(id)?.inflight ?? 0) === 0, () => this.closed),
      shutdown: async () => await this.leader.control(id, { v: 1, op: 'shutdown' }),
      offline: async () => await until(this.clock, () => c.get(id)?.status === 'offline', () => this.closed)
    }
  }

  async gate (id: string): Promise<void> {
    const g = this.gates.get(id)
    if (this.closed || g === undefined || g.state !== 'on') return
    this.leader.cluster.setPower(id, 'shutting-down')
    try {
      await g.gate()
      this.leader.cluster.setPower(id, 'gated')
    } catch (err) {
      this.leader.cluster.setPower(id, 'on')
      this.log.warn('gating failed', { board: id, err: (err as Error).message })
    }
  }

  async wake (id: string): Promise<void> {
    const g = this.gates.get(id)
    if (this.closed || g === undefined || g.state !== 'off') return
    this.leader.cluster.setPower(id, 'booting')
    try {
      await g.wake()
      this.log.info('board woken', { board: id })
    } catch (err) {
      // Callers fire and forget (`void wake()`): a rejection here would end the gateway process.
      this.leader.cluster.setPower(id, 'gated')
      this.log.warn('waking failed', { board: id, err: (err as Error).message })
    }
  }

  /** Invocations are waiting and no board is routable: wake the gated board that boots first. */
  wakeForDemand (profiles: (id: string) => BoardProfile | undefined): void {
    const view = this.leader.cluster.view()
    if (view.boards.some((b) => b.routable || b.power === 'booting')) return
    const gated = view.boards.filter((b) => b.power === 'gated' && this.gates.get(b.id)?.state === 'off')
      .sort((a, b) => (profiles(a.id)?.boot_s ?? 0) - (profiles(b.id)?.boot_s ?? 0))
    const first = gated[0]
    if (first !== undefined) void this.wake(first.id)
  }

  /** Gossip stopped while the relay is closed: no clean shutdown is possible, so cycle power. */
  async lost (id: string): Promise<void> {
    const g = this.gates.get(id)
    const power = this.leader.cluster.get(id)?.power
    if (this.closed || g === undefined || g.state !== 'on' || power !== 'on') return
    this.log.warn('board stopped gossiping while powered; power-cycling it', { board: id })
    this.leader.cluster.setPower(id, 'booting')
    await g.powerCycle().catch((err: Error) => this.log.warn('power cycle failed', { board: id, err: err.message }))
  }
}
