import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:net'
import { freePort } from './ports.js'

const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p))

export const hasBinary = (name: string): boolean => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0
export const mosquittoMissing = (): string | false =>
  MOSQUITTO === undefined ? 'the mosquitto broker is not installed (apt-get install mosquitto)' : false
export const clientsMissing = (): string | false =>
  hasBinary('mosquitto_pub') && hasBinary('mosquitto_sub') ? false : 'mosquitto-clients is not installed (apt-get install mosquitto-clients)'

/** A real Mosquitto broker (MQTT 5) on a free loopback port, for as long as the test needs it. */
export const startMosquitto = async (): Promise<{ url: string, port: number, stop: () => Promise<void> }> => {
  if (MOSQUITTO === undefined) throw new Error('mosquitto is not installed')
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'wisp-mosq-'))
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmessage_size_limit 0\n`)
  const child: ChildProcess = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' })
  const deadline = Date.now() + 5000
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.end(); resolve(true) })
      s.on('error', () => resolve(false))
    })
    if (ok) break
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error('mosquitto did not start') }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    stop: async () => {
      await new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.kill('SIGTERM') })
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
