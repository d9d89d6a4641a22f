import { closeSync, openSync, readFileSync, ftruncateSync, writeSync } from 'node:fs'

/**
 * Invocations whose reply is out, appended one id a line with a synchronous write as each reply
 * is published. LevelDB writes are asynchronous (a batch on the thread pool, queued behind the
 * one in progress: a few ms, tens under load), and a gateway killed after the reply reached the
 * client but before its delete was on disk ran the invocation again after the restart and answered
 * it twice. A line written here is in the kernel once writeSync returns, so it survives a kill -9
 * of the process (not a power cut: neither do the store's unsynced LevelDB writes).
 */
export class AnsweredJournal {
  private bytes = 0

  private constructor (private readonly fd: number) {}

  /** Opens (creating) the journal at `file`; `ids()` reads what a previous process wrote. */
  static open (file: string): AnsweredJournal {
    return new AnsweredJournal(openSync(file, 'a+'))
  }

  /** Every id written since the journal was last cleared. */
  ids (): Set<string> {
    const text = readFileSync(this.fd, 'utf8')
    this.bytes = Buffer.byteLength(text)
    return new Set(text.split('\n').filter((l) => l.length > 0))
  }

  /** Written before it returns (a kill -9 right after does not lose it). */
  add (id: string): void {
    const line = Buffer.from(`${id}\n`)
    let off = 0
    while (off < line.length) off += writeSync(this.fd, line, off)
    this.bytes += line.length
  }

  /** Bytes written since the journal was last cleared. */
  get size (): number { return this.bytes }

  /** Empties it: call only once every id in it is deleted from the store on disk. */
  clear (): void {
    ftruncateSync(this.fd, 0)
    this.bytes = 0
  }

  close (): void { closeSync(this.fd) }
}
