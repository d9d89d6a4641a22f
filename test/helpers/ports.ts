import type { ChildProcess } from 'node:child_process'
import { connect, createServer } from 'node:net'

/** Binds 127.0.0.1:`port` (0: any) and lets it go: the port it got, or null when it is taken. */
const tryBind = async (port: number): Promise<number | null> => await new Promise((resolve) => {
  const s = createServer()
  s.once('error', () => resolve(null))
  s.listen(port, '127.0.0.1', () => {
    const a = s.address()
    const got = typeof a === 'object' && a !== null ? a.port : null
    s.close(() => resolve(got))
  })
})

/** A TCP port free on 127.0.0.1 right now (never 1883, which a system Mosquitto may hold). */
export const freePort = async (): Promise<number> => {
  const port = await tryBind(0)
  if (port === null) throw new Error('no free TCP port on 127.0.0.1')
  return port
}

/**
 * A port free on 127.0.0.1 now and below Linux's ephemeral range (32768-60999), for a server that
 * binds it only later (a standby gateway's HTTP port, bound when it takes the lead): a port from
 * freePort() is in that range, and meanwhile became the local end of some outgoing connection in
 * one failover-test run (EADDRINUSE at takeover).
 */
export const laterPort = async (): Promise<number> => {
  for (let i = 0; i < 50; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000)
    if (await tryBind(port) !== null) return port
  }
  return await freePort()
}

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
