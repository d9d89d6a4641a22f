import { topicMatches } from '../transport/transport.js'

/**
 * Which functions each trigger filter serves: one broker subscription per distinct filter,
 * shared by every function that lists it, dropped when none does any longer.
 */
export class TopicSubscriptions {
  private readonly byFilter = new Map<string, Set<string>>()
  private readonly byFn = new Map<string, readonly string[]>()

  /** Sets `fn`'s filters (none = removed); returns the filters to subscribe and unsubscribe. */
  set (fn: string, filters: readonly string[]): { add: string[], remove: string[] } {
    const add: string[] = []
    const remove: string[] = []
    const before = this.byFn.get(fn) ?? []
    for (const f of before) {
      if (filters.includes(f)) continue
      const fns = this.byFilter.get(f)
      fns?.delete(fn)
      if (fns !== undefined && fns.size === 0) { this.byFilter.delete(f); remove.push(f) }
    }
    for (const f of filters) {
      let fns = this.byFilter.get(f)
      if (fns === undefined) { fns = new Set(); this.byFilter.set(f, fns); add.push(f) }
      fns.add(fn)
    }
    if (filters.length > 0) this.byFn.set(fn, [...filters]); else this.byFn.delete(fn)
    return { add, remove }
  }

  /**
   * The functions a message on `topic`, delivered for `filter`, invokes: those listing the
   * filter, each once per message even when several of its filters match (only its first
   * matching filter fires it).
   */
  targets (filter: string, topic: string): string[] {
    const out: string[] = []
    for (const fn of this.byFilter.get(filter) ?? []) {
      if ((this.byFn.get(fn) ?? []).find((f) => topicMatches(f, topic)) === filter) out.push(fn)
    }
    return out
  }

  get filters (): string[] { return [...this.byFilter.keys()] }
}
