import { spawn, type ChildProcess } from 'node:child_process'
import { setPriority } from 'node:os'
import { compiledFile } from '../shared/compiled.js'
import type { Logger } from '../shared/log.js'
import { AGENT_NODE_FLAGS, extraNodeArgs } from '../shared/node-flags.js'

/** Nice value of simulated board processes (0 = the gateway's, 19 = lowest). */
const BOARD_NICENESS = 10

/**
 * The command line of a board process: the real agent, run by the compiled CLI with plain node
 * (with Node's startup snapshot: the agent makes no isolates; its isolate host is started with
 * --no-node-snapshot).
 */
export const boardCommand = (configFile: string): string[] =>
  [...AGENT_NODE_FLAGS, ...extraNodeArgs(), compiledFile('runtime/cli/main.js'), 'board', '--config', configFile, '--sim']

/**
 * Supervises one simulated board as a child process: restarts it when it dies (with
 * back-off), leaves it down while its (simulated) relay is open, and stops it cleanly.
 * An IPC channel ties the child to this process, so it exits if the parent vanishes.
 */
export class BoardProcess {
  private child: ChildProcess | null = null
  private wanted = false
  private restarts = 0
  private restartTimer: ReturnType<typeof setTimeout> | null = null

  constructor (readonly id: string, private readonly configFile: string, private readonly log: Logger) {}

  get pid (): number | undefined { return this.child?.pid }
  get running (): boolean { return this.child !== null }

  start (): void {
    this.wanted = true
    if (this.child !== null) return
    const child = spawn(process.execPath, boardCommand(this.configFile), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, WISP_PROCESS: this.id } })
    this.child = child
    // On a real cluster the boards are other machines: here they must not starve the gateway's
    // broker and leader of CPU (a burst would then be refused seconds late). Its isolate host,
    // forked later, inherits the priority.
    if (child.pid !== undefined) { try { setPriority(child.pid, BOARD_NICENESS) } catch { /* not permitted: run at equal priority */ } }
    child.on('exit', (code, signal) => {
      this.child = null
      if (!this.wanted) return
      if (code === 0 && signal === null) {
        this.log.info('board powered itself off', { board: this.id })
        this.wanted = false
        return
      }
      const delay = Math.min(10_000, 250 * 2 ** Math.min(this.restarts++, 6))
      this.log.warn('board process died; restarting', { board: this.id, code, signal, inMs: delay })
      this.restartTimer = setTimeout(() => { this.restartTimer = null; if (this.wanted) this.start() }, delay)
    })
  }

  /** Stops the process (SIGTERM, then SIGKILL after graceMs). */
  async stop (graceMs = 5000): Promise<void> {
    this.wanted = false
    if (this.restartTimer !== null) { clearTimeout(this.restartTimer); this.restartTimer = null }
    const child = this.child
    if (child === null) return
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), graceMs)
      child.once('exit', () => { clearTimeout(kill); resolve() })
      child.kill('SIGTERM')
    })
  }
}
