import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:net'
import { freePort } from './ports.js'
import { hasBinary } from './mosquitto.js'

export const redisMissing = (): string | false =>
  hasBinary('redis-server') ? false : 'redis-server is not installed (apt-get install redis-server)'

/** A real redis-server on a free loopback port, no persistence, in a temporary folder. */
export const startRedis = async (): Promise<{ url: string, port: number, stop: () => Promise<void> }> => {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'wisp-redis-'))
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' })
  const deadline = Date.now() + 5000
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.end(); resolve(true) })
      s.on('error', () => resolve(false))
    })
    if (ok) break
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error('redis-server did not start') }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => {
      if (child.exitCode === null) await new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.kill('SIGTERM') })
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
