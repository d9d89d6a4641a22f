import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, laterPort } from './ports.js'
import { wispArgs } from './wisp-cli.js'

export interface GatewayProcess {
  readonly url: string
  readonly process: ChildProcess
  /** Everything it logged so far. */
  log: () => string
  /** Resolves once its log matches `re`. */
  saw: (re: RegExp, ms: number) => Promise<void>
  /** kill -9: no lease release, no clean disconnects. */
  kill: () => Promise<void>
  stop: () => Promise<void>
}

/** `wisp gateway --config F` with `cluster: { redis }`, as a user runs it (dist/), on free loopback ports. */
export const clusterGateway = async (redis: string, leaseMs: number): Promise<GatewayProcess> => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-cgwp-'))
  const port = await freePort()
  const config = join(dir, 'gateway.json')
  writeFileSync(config, JSON.stringify({ mqtt_port: port, http_port: await laterPort(), invoke_port: null, data_dir: join(dir, 'data'), cluster: { redis, lease_ms: leaseMs } }))
  const p = spawn(process.execPath, wispArgs(['gateway', '--config', config]), { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WISP_LOG: 'info' } })
  let out = ''
  const waiters = new Set<() => void>()
  p.stderr?.on('data', (d: Buffer) => { out += d.toString(); for (const w of waiters) w() })
  const saw = async (re: RegExp, ms: number): Promise<void> => await new Promise<void>((resolve, reject) => {
    const check = (): void => { if (re.test(out)) { done(); resolve() } }
    const timer = setTimeout(() => { done(); reject(new Error(`gateway: no ${String(re)} within ${ms} ms: ${out.slice(-2000)}`)) }, ms)
    const exited = (): void => { done(); reject(new Error(`gateway exited ${p.exitCode}: ${out.slice(-2000)}`)) }
    const done = (): void => { clearTimeout(timer); waiters.delete(check); p.off('exit', exited) }
    waiters.add(check)
    p.once('exit', exited)
    check()
  })
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (p.exitCode === null && p.signalCode === null) {
      const gone = new Promise((resolve) => p.once('exit', resolve))
      p.kill(signal)
      await gone
    }
  }
  await saw(/clustered gateway up/, 30_000)
  return {
    url: `mqtt://127.0.0.1:${port}`,
    process: p,
    log: () => out,
    saw,
    kill: async () => { await end('SIGKILL') },
    stop: async () => { await end('SIGTERM'); rmSync(dir, { recursive: true, force: true }) }
  }
}
