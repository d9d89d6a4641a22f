/**
 * The highest fencing token a board has seen from a leader (clustered gateways, lease.ts): a
 * `run` or `control` with a lower one comes from a deposed leader and is ignored. Messages
 * without a token (one gateway, no election) always pass.
 */
export class FenceGate {
  private highest = 0

  /** Whether a message carrying `fence` may be acted on (and raises the mark). */
  admit (fence: number | undefined): boolean {
    if (fence === undefined) return true
    if (fence < this.highest) return false
    this.highest = fence
    return true
  }

  get seen (): number { return this.highest }
}
