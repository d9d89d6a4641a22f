import type { Snapshot, SnapshotSource } from './types.js'

/**
 * A ready-made SnapshotSource: the owner builds snapshots on demand and calls `changed()`
 * when something worth showing happened. The server coalesces bursts, so calling it on
 * every sample or completion is fine.
 */
export class SnapshotFeed<S extends Snapshot> implements SnapshotSource<S> {
  private readonly listeners = new Set<() => void>()

  constructor (private readonly build: () => S) {}

  snapshot = (): S => this.build()

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  changed (): void {
    // A failing listener (a closed socket) must not stop the others or the caller.
    for (const l of [...this.listeners]) {
      try { l() } catch { /* the server handles its own errors */ }
    }
  }
}

/** A fixed-size buffer of the most recent items, for power samples, invocations and decisions. */
export class Recent<T> {
  private readonly items: T[] = []

  constructor (readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer')
  }

  push (item: T): void {
    this.items.push(item)
    if (this.items.length > this.capacity) this.items.splice(0, this.items.length - this.capacity)
  }

  /** Oldest first. */
  oldestFirst (): T[] { return [...this.items] }

  /** Newest first. */
  newestFirst (): T[] { return [...this.items].reverse() }

  get size (): number { return this.items.length }
}
