import type { ChildProcess } from 'node:child_process'
import { connect, createServer } from 'node:net'

/** A TCP port free on 127.0.0.1 right now (never 1883, which a system Mosquitto may hold). */
export const freePort = async (): Promise<number> => await new Promise((resolve, reject) => {
  const s = createServer()
  s.once('error', reject)
  s.listen(0, '127.0.0.1', () => {
    const a = s.address()
    const port = typeof a === 'object' && a !== null ? a.port : 0
    s.close(() => resolve(port))
  })
})


/** Waits until `child` (a server it just started) accepts TCP connections on 127.0.0.1:`port`; kills it after `ms`. */
export const waitForListening = async (child: ChildProcess, port: number, what: string, ms = 5000): Promise<void> => {
  const deadline = Date.now() + ms
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.end(); resolve(true) })
      s.on('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline || child.exitCode !== null) { child.kill('SIGKILL'); throw new Error(`${what} did not start`) }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
