import { createServer, connect, type Socket } from 'node:net'

export interface TcpProxy {
  /** mqtt://127.0.0.1:<port>: connect here to reach the target through the proxy. */
  readonly url: string
  /** Connections accepted so far (for asserting a client came back, or did not). */
  accepted: () => number
  /**
   * A network partition that closes nothing: bytes in either direction are dropped from now on
   * (the sockets stay open, as when a link or a switch dies), and new connections hang unanswered.
   */
  blackhole: () => void
  /** A partition that the endpoints see: every connection is reset and new ones are refused. */
  cut: () => Promise<void>
  close: () => Promise<void>
}

/** A TCP forwarder on a free 127.0.0.1 port to `target` (host:port) that a test can partition. */
export const startTcpProxy = async (target: { host: string, port: number }): Promise<TcpProxy> => {
  const sockets = new Set<Socket>()
  let mode: 'open' | 'blackhole' | 'cut' = 'open'
  let accepted = 0
  const track = (s: Socket): void => { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => {}) }
  const server = createServer((inbound) => {
    track(inbound)
    if (mode === 'cut') { inbound.destroy(); return }
    if (mode === 'blackhole') { inbound.on('data', () => {}); return }
    accepted++
    const outbound = connect(target.port, target.host)
    track(outbound)
    // Forwarding checks the mode per chunk, so a blackhole drops what was in flight too.
    inbound.on('data', (d) => { if (mode === 'open') outbound.write(d) })
    outbound.on('data', (d) => { if (mode === 'open') inbound.write(d) })
    // A side that ends or resets ends the other, unless the link is blackholed (then nobody hears of it).
    inbound.on('close', () => { if (mode !== 'blackhole') outbound.destroy() })
    outbound.on('close', () => { if (mode !== 'blackhole') inbound.destroy() })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0
  const destroyAll = (): void => { for (const s of sockets) s.destroy() }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    accepted: () => accepted,
    blackhole: () => { mode = 'blackhole' },
    cut: async () => {
      mode = 'cut'
      destroyAll()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
    close: async () => {
      mode = 'cut'
      destroyAll()
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
