import type { BoardProfile } from '../../boards/schema.js'
import type { Clock } from '../../runtime/shared/clock.js'
import type { Logger } from '../../runtime/shared/log.js'
import { silentLogger } from '../../runtime/shared/log.js'
import type { GpioPin, Level } from './gpio-pin.js'

/** How the gate talks to the board, supplied by the leader (MQTT control topic and gossip). */
export interface PowerGatePorts {
  /** Sends `control {op: "drain"}`. */
  drain: () => void | Promise<void>
  /** Resolves once the board reports no queued or running work. */
  drained: () => Promise<void>
  /** Sends `control {op: "shutdown"}`: the agent runs the OS power-off. */
  shutdown: () => void | Promise<void>
  /** Resolves once the board's state is `offline` (its retained state or Last Will). */
  offline: () => Promise<void>
}

export interface PowerGateOptions {
  readonly id: string
  readonly pin: GpioPin
  /** The relay closes (board powered) on a low level. */
  readonly activeLow: boolean
  readonly clock: Clock
  readonly profile: Pick<BoardProfile, 'shutdown_s'>
  readonly ports: PowerGatePorts
  readonly log?: Logger
  readonly drainTimeoutMs?: number
  readonly offlineTimeoutMs?: number
  /** How long a power cycle keeps the relay open, so the board's regulators discharge. */
  readonly cycleOffMs?: number
}

export interface GateOutcome {
  /** The board finished its work before the drain timeout. */
  readonly drained: boolean
  /** The board reported offline before the offline timeout. */
  readonly offline: boolean
}

export type GateState = 'on' | 'gating' | 'off' | 'cycling'

/**
 * One board's power relay, driven from the gateway. gate() powers a board off without
 * corrupting its SD card: drain, shut the OS down, give it the profile's shutdown time after
 * it said offline, and only then open the relay.
 */
export class PowerGate {
  private current: GateState
  private busy = false
  private readonly log: Logger

  constructor (private readonly o: PowerGateOptions, powered = true) {
    this.current = powered ? 'on' : 'off'
    this.log = o.log ?? silentLogger
  }

  get state (): GateState { return this.current }

  private level (powered: boolean): Level { return powered !== this.o.activeLow ? 1 : 0 }

  /** Drives the line to match the state it was constructed with (call once at start). */
  async init (): Promise<void> { await this.o.pin.write(this.level(this.current !== 'off')) }

  async isPowered (): Promise<boolean> { return (await this.o.pin.read()) === this.level(true) }

  private sleep (ms: number): Promise<void> {
    return new Promise((resolve) => { this.o.clock.setTimeout(resolve, ms) })
  }

  /** Resolves true if p settles within ms of clock time, false on timeout. */
  private within (p: Promise<void>, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const h = this.o.clock.setTimeout(() => resolve(false), ms)
      p.then(() => { this.o.clock.clearTimeout(h); resolve(true) }, () => { this.o.clock.clearTimeout(h); resolve(false) })
    })
  }

  private async exclusive<T> (what: GateState, fn: () => Promise<T>, after: GateState): Promise<T> {
    if (this.busy) throw new Error(`power gate of ${this.o.id} is busy (${this.current}); cannot start ${what}`)
    this.busy = true
    const before = this.current
    this.current = what
    try {
      const r = await fn()
      this.current = after
      return r
    } catch (err) {
      this.current = before
      throw err
    } finally {
      this.busy = false
    }
  }

  async gate (): Promise<GateOutcome> {
    return await this.exclusive('gating', async () => {
      const drainedP = this.o.ports.drained()
      await this.o.ports.drain()
      const drained = await this.within(drainedP, this.o.drainTimeoutMs ?? 30_000)
      if (!drained) this.log.warn('board did not drain in time; shutting down anyway', { board: this.o.id })
      const offlineP = this.o.ports.offline()
      await this.o.ports.shutdown()
      const offline = await this.within(offlineP, this.o.offlineTimeoutMs ?? 60_000)
      if (!offline) this.log.warn('board did not report offline; cutting power after its shutdown time', { board: this.o.id })
      // The agent says offline before the OS has synced and unmounted: wait the profile's shutdown time.
      await this.sleep(this.o.profile.shutdown_s * 1000)
      await this.o.pin.write(this.level(false))
      this.log.info('board power gated', { board: this.o.id, drained, offline })
      return { drained, offline }
    }, 'off')
  }

  async wake (): Promise<void> {
    await this.exclusive('on', async () => { await this.o.pin.write(this.level(true)) }, 'on')
  }

  /** For a board that stopped gossiping while powered: no clean shutdown is possible. */
  async powerCycle (): Promise<void> {
    await this.exclusive('cycling', async () => {
      await this.o.pin.write(this.level(false))
      await this.sleep(this.o.cycleOffMs ?? 3000)
      await this.o.pin.write(this.level(true))
      this.log.warn('board power-cycled', { board: this.o.id })
    }, 'on')
  }
}
