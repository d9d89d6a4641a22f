export type Level = 0 | 1

/**
 * One GPIO output line, at its physical level (polarity is the caller's business). onChange
 * reports every change of level, once, and not a write of the level the line already has.
 */
export interface GpioPin {
  readonly line: number
  read: () => Promise<Level>
  write: (level: Level) => Promise<void>
  /** Returns an unsubscribe function. */
  onChange: (listener: (level: Level) => void) => () => void
  close: () => Promise<void>
}

/** Delivers level changes to listeners; shared by every GpioPin implementation. */
export class LevelEvents {
  private readonly listeners = new Set<(level: Level) => void>()

  on (listener: (level: Level) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  emit (level: Level): void { for (const l of [...this.listeners]) l(level) }

  clear (): void { this.listeners.clear() }
}
