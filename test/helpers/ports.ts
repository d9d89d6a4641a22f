import { createServer } from 'node:net'

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

