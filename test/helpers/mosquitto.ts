import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, waitForListening } from './ports.js'

const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p))

export const hasBinary = (name: string): boolean => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0
export const mosquittoMissing = (): string | false =>
  MOSQUITTO === undefined ? 'the mosquitto broker is not installed (apt-get install mosquitto)' : false
export const clientsMissing = (): string | false =>
  hasBinary('mosquitto_pub') && hasBinary('mosquitto_sub') ? false : 'mosquitto-clients is not installed (apt-get install mosquitto-clients)'

/**
 * A real Mosquitto broker (MQTT 5) on a free loopback port, for as long as the test needs it.
 * `files` are written beside its config (e.g. a password and an ACL file) and `conf` lines
 * added to it, with `{dir}` standing for that folder; with `conf` there is no anonymous access.
 */
export const startMosquitto = async (o: { files?: Record<string, string>, conf?: string[] } = {}): Promise<{ url: string, port: number, dir: string, stop: () => Promise<void> }> => {
  if (MOSQUITTO === undefined) throw new Error('mosquitto is not installed')
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'wisp-mosq-'))
  const conf = join(dir, 'mosquitto.conf')
  // Mosquitto started as root reads these files after dropping to its own user.
  if (o.files !== undefined) chmodSync(dir, 0o755)
  for (const [name, text] of Object.entries(o.files ?? {})) writeFileSync(join(dir, name), text, { mode: 0o644 })
  const extra = (o.conf ?? ['allow_anonymous true']).map((l) => l.replaceAll('{dir}', dir))
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, ...extra, 'persistence false', 'message_size_limit 0', ''].join('\n'))
  const child: ChildProcess = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' })
  await waitForListening(child, port, 'mosquitto')
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    dir,
    stop: async () => {
      await new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.kill('SIGTERM') })
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
