/**
 * What a composition root has opened, in order, closed in reverse: the one list both an undo
 * after a failed start and a normal stop read, so the two cannot close in different orders or
 * forget a part.
 */
export class CloseList {
  private readonly closers: Array<() => Promise<void>> = []

  /** Records how to close what was just opened (it closes before everything opened earlier). */
  add (close: () => Promise<void>): void { this.closers.push(close) }

  /**
   * Closes everything, newest first; every part is closed even when one fails. Returns the
   * failures, oldest-closed first. A second call closes nothing (the list is emptied).
   */
  async closeAll (): Promise<unknown[]> {
    const errors: unknown[] = []
    for (const close of this.closers.splice(0).reverse()) {
      try { await close() } catch (err) { errors.push(err) }
    }
    return errors
  }
}
