import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, waitForListening } from './ports.js'
import { hasBinary } from './mosquitto.js'

export const redisMissing = (): string | false =>
  hasBinary('redis-server') ? false : 'redis-server is not installed (apt-get install redis-server)'

/** A real redis-server on a free loopback port, no persistence, in a temporary folder. */
export const startRedis = async (): Promise<{ url: string, port: number, stop: () => Promise<void> }> => {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'wisp-redis-'))
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' })
  await waitForListening(child, port, 'redis-server')
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => {
      if (child.exitCode === null) await new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.kill('SIGTERM') })
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
