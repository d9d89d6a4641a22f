import { closeSync, openSync, readFileSync, renameSync, rmSync, ftruncateSync, writeSync } from 'node:fs'

/**
 * Invocations whose reply is out, appended one id a line with a synchronous write as each reply
 * is published. LevelDB writes are asynchronous (a batch on the thread pool, queued behind the
 * one in progress: a few ms, tens under load), and a gateway killed after the reply reached the
 * client but before its delete was on disk ran the invocation again after the restart and answered
 * it twice. A line written here is in the kernel once writeSync returns, so it survives a kill -9
 * of the process (not a power cut: neither do the store's unsynced LevelDB writes).
 *
 * The store empties it once the deletes it records are written. Under steady load there may never
 * be a moment with none pending, so a full journal is set aside (`<file>.old`, dropped once the
 * deletes of its ids are written) and a new one begun: it stays bounded.
 */
export class AnsweredJournal {
  private bytes = 0

  private constructor (private readonly file: string, private fd: number) {}

  /** Opens (creating) the journal at `file`; `ids()` reads what a previous process wrote. */
  static open (file: string): AnsweredJournal {
    return new AnsweredJournal(file, openSync(file, 'a+'))
  }

  /** Every id written (the set-aside journal's too) since it was last emptied. */
  ids (): Set<string> {
    const text = readFileSync(this.fd, 'utf8')
    this.bytes = Buffer.byteLength(text)
    let old = ''
    try { old = readFileSync(`${this.file}.old`, 'utf8') } catch { /* none set aside */ }
    return new Set(`${old}\n${text}`.split('\n').filter((l) => l.length > 0))
  }

  /** Written before it returns (a kill -9 right after does not lose it). */
  add (id: string): void {
    const line = Buffer.from(`${id}\n`)
    let off = 0
    while (off < line.length) off += writeSync(this.fd, line, off)
    this.bytes += line.length
  }

  /** Bytes written to the current journal since it was begun or emptied. */
  get size (): number { return this.bytes }

  /** Sets the current journal aside (replacing one set aside before: drop that first) and begins a new one. */
  rotate (): void {
    renameSync(this.file, `${this.file}.old`)
    const fd = openSync(this.file, 'a+')
    closeSync(this.fd)
    this.fd = fd
    this.bytes = 0
  }

  /** Drops the set-aside journal: call only once every id in it is deleted from the store on disk. */
  dropOld (): void { rmSync(`${this.file}.old`, { force: true }) }

  /** Empties it, and drops the set-aside one: call only once every id in both is deleted from the store on disk. */
  clear (): void {
    ftruncateSync(this.fd, 0)
    this.bytes = 0
    this.dropOld()
  }

  close (): void { closeSync(this.fd) }
}
