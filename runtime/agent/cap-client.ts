import { randomInt } from 'node:crypto'
import { capError, parseCapReply, type CapCall, type CapResult } from '../protocol/capabilities.js'
import { MAX_MESSAGE_BYTES, encode } from '../protocol/messages.js'
import type { Topics } from '../protocol/topics.js'
import type { Clock, TimerHandle } from '../shared/clock.js'
import type { Logger } from '../shared/log.js'
import type { InboundMessage, Transport } from '../transport/transport.js'

export interface CapClientDeps {
  readonly transport: Transport
  readonly topics: Topics
  readonly board: string
  readonly clock: Clock
  readonly log: Logger
}

/**
 * The board's side of capability calls: each goes to the gateway on `<prefix>/boards/<id>/cap`
 * over the board's own (authenticated) MQTT session, and its answer comes back on
 * `.../cap-reply`. The gateway decides; the board only relays, and gives up at the deadline.
 */
export class CapClient {
  private readonly pending = new Map<number, { resolve: (r: CapResult) => void, timer: TimerHandle }>()
  // Not from 0: a reply meant for an earlier run of this board must not match a new call.
  private next = randomInt(0, 2 ** 40)

  constructor (private readonly d: CapClientDeps) {}

  async start (): Promise<void> {
    await this.d.transport.subscribe(this.d.topics.board(this.d.board, 'cap-reply'), (m) => { this.onReply(m) })
  }

  /** Asks the gateway; resolves with its answer, or WISP_TIMEOUT after `budgetMs` (the run's time left, which the gateway is told). */
  async request (invocation: string, call: CapCall, budgetMs: number): Promise<CapResult> {
    if (!(budgetMs > 0)) return capError('WISP_TIMEOUT', 'no time left before the deadline')
    const id = this.next++
    // Past its limit the broker would refuse the PUBLISH and close the board's connection.
    const payload = encode({ v: 1, id, invocation, budget_ms: Math.ceil(budgetMs), call })
    if (payload.length > MAX_MESSAGE_BYTES.cap) return capError('WISP_PAYLOAD_TOO_LARGE', `${call.op}: the request is ${payload.length} bytes as JSON; the limit is ${MAX_MESSAGE_BYTES.cap}`)
    return await new Promise<CapResult>((resolve) => {
      const timer = this.d.clock.setTimeout(() => { this.settle(id, capError('WISP_TIMEOUT', `${call.op}: the gateway did not answer before the deadline`)) }, budgetMs)
      this.pending.set(id, { resolve, timer })
      this.d.transport.publish(this.d.topics.board(this.d.board, 'cap'), payload, { qos: 1 })
        .catch((err: Error) => { this.settle(id, capError('WISP_OVERLOADED', `${call.op}: cannot reach the gateway (${err.message})`)) })
    })
  }

  private onReply (m: InboundMessage): void {
    if (m.retain) return
    try {
      const r = parseCapReply(m.payload)
      this.settle(r.id, r.result)
    } catch (err) {
      this.d.log.debug('capability reply ignored', { err: (err as Error).message })
    }
  }

  private settle (id: number, r: CapResult): void {
    const p = this.pending.get(id)
    if (p === undefined) return
    this.pending.delete(id)
    this.d.clock.clearTimeout(p.timer)
    p.resolve(r)
  }

  /** Every call still waiting fails (the board is stopping). */
  close (): void {
    for (const id of [...this.pending.keys()]) this.settle(id, capError('WISP_OVERLOADED', 'the board is stopping'))
  }
}
