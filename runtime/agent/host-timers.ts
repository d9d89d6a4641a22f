import ivm from 'isolated-vm'

const MAX_PENDING = 256

/**
 * The host half of the isolate's bounded setTimeout. A sleep never outlives the horizon (the
 * latest deadline of the invocations it may belong to): one asked to wake later resolves
 * `false` at the horizon and its callback is skipped, so a timed-out handler cannot keep
 * rescheduling itself. `cancelAll` ends every pending sleep when the runtime goes idle.
 */
export class HostTimers {
  readonly reference: ivm.Reference
  private readonly pending = new Map<NodeJS.Timeout, (fire: boolean) => void>()

  /** horizon(): absolute time on performance.now()'s scale past which nothing may fire. */
  constructor (private readonly horizon: () => number) {
    this.reference = new ivm.Reference((ms: unknown): Promise<boolean> => this.sleep(Number(ms)))
  }

  private sleep (ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      if (this.pending.size >= MAX_PENDING) { resolve(false); return }
      const left = this.horizon() - performance.now()
      const wait = Number.isFinite(ms) && ms > 0 ? ms : 0
      const fire = wait <= left
      const t = setTimeout(() => { this.pending.delete(t); resolve(fire) }, Math.max(0, Math.min(wait, left)))
      t.unref()
      this.pending.set(t, resolve)
    })
  }

  get size (): number { return this.pending.size }

  cancelAll (): void {
    for (const [t, resolve] of this.pending) { clearTimeout(t); resolve(false) }
    this.pending.clear()
  }
}
