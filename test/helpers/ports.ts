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

/** Several distinct free ports, each with `span` free ports after it unused by the others. */
export const freePorts = async (n: number): Promise<number[]> => {
  const out = new Set<number>()
  for (let guard = 0; out.size < n && guard < 100; guard++) out.add(await freePort())
  return [...out]
}
