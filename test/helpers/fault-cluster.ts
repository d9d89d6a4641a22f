import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { BoardProcess } from '../../runtime/cluster/board-process.js'
import { SIM_PROFILES } from '../../runtime/cluster/embedded-cluster.js'
import { readFunctionsDir } from '../../runtime/cluster/examples.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { createLogger } from '../../runtime/shared/log.js'
import { MqttTransport } from '../../runtime/transport/mqtt-transport.js'
import { freePort } from './ports.js'
import { wispArgs } from './wisp-cli.js'


/** A TCP relay in front of the broker for one board: drop() cuts every connection through it (a Wi-Fi blip). */
export class Blip {
  private constructor (private readonly server: Server, readonly port: number, private readonly pairs: Set<Socket>) {}
  static async open (target: number): Promise<Blip> {
    const port = await freePort()
    const pairs = new Set<Socket>()
    const server = createServer((inbound) => {
      const out = connect(target, '127.0.0.1')
      for (const s of [inbound, out]) { pairs.add(s); s.on('close', () => pairs.delete(s)); s.on('error', () => {}) }
      inbound.pipe(out); out.pipe(inbound)
      inbound.on('close', () => out.destroy()); out.on('close', () => inbound.destroy())
    })
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    return new Blip(server, port, pairs)
  }

  drop (): number { const n = this.pairs.size; for (const s of this.pairs) s.destroy(); return n }
  async close (): Promise<void> { this.drop(); await new Promise<void>((resolve) => this.server.close(() => resolve())) }
}

/**
 * The processes of a real deployment on one host, each killable on its own: the gateway
 * (`wisp gateway`: aedes + leader) and simulated boards (`wisp board --sim`, restarted when they
 * die, as systemd would). The last board reaches the broker through a Blip.
 */
export class FaultCluster {
  gateway: ChildProcess | null = null
  readonly boards: BoardProcess[] = []
  private constructor (readonly dir: string, readonly port: number, private readonly gwConfig: string, readonly blip: Blip) {}

  get url (): string { return `mqtt://127.0.0.1:${this.port}` }

  static async start (o: { boards: number, waitMs?: number }): Promise<FaultCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'wisp-faults-'))
    const port = await freePort()
    const gwConfig = join(dir, 'gateway.json')
    writeFileSync(gwConfig, JSON.stringify({ mqtt_port: port, mqtt_host: '127.0.0.1', http_port: await freePort(), invoke_port: 0, data_dir: join(dir, 'gateway'), wait_ms: o.waitMs ?? 10_000, policy: 'wisp-no-gate' }))
    const c = new FaultCluster(dir, port, gwConfig, await Blip.open(port))
    await c.startGateway()
    const t = await MqttTransport.open({ url: c.url, clientId: 'faults-deployer' })
    for (const { manifest, code } of readFunctionsDir()) await publishDeployment(t, new Topics(), manifest, code)
    await t.close()
    const log = createLogger('faults', 'error')
    for (let n = 1; n <= o.boards; n++) {
      const id = `b${n}`
      const bdir = join(dir, 'boards', id)
      mkdirSync(bdir, { recursive: true })
      const file = join(bdir, 'board.json')
      const broker = n === o.boards ? `mqtt://127.0.0.1:${c.blip.port}` : c.url
      writeFileSync(file, JSON.stringify({ id, profile: SIM_PROFILES[(n - 1) % SIM_PROFILES.length], broker, data_dir: bdir, http_port: 0, http_host: '127.0.0.1', sim: { emulate_speed: true, ina219: true } }))
      const b = new BoardProcess(id, file, log)
      c.boards.push(b)
      b.start()
    }
    await c.waitForBoards(o.boards, 60_000)
    return c
  }

  /** Starts `wisp gateway`; resolves once it says it is up. */
  async startGateway (): Promise<void> {
    const p = spawn(process.execPath, wispArgs(['gateway', '--config', this.gwConfig]), { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WISP_LOG: 'info' } })
    this.gateway = p
    await new Promise<void>((resolve, reject) => {
      let err = ''
      const timer = setTimeout(() => reject(new Error(`gateway not up within 30 s: ${err.slice(-2000)}`)), 30_000)
      p.stderr?.on('data', (d: Buffer) => { err += d.toString(); if (/gateway up/.test(err)) { clearTimeout(timer); resolve() } })
      p.once('exit', (code) => { clearTimeout(timer); reject(new Error(`gateway exited ${code}: ${err.slice(-2000)}`)) })
    })
    p.stderr?.resume()
  }

  /** kill -9 of the broker + leader process, then a new one on the same data folder and port. */
  async restartGateway (): Promise<void> {
    const g = this.gateway
    if (g !== null && g.exitCode === null) {
      const gone = new Promise((resolve) => g.once('exit', resolve))
      g.kill('SIGKILL')
      await gone
    }
    await this.startGateway()
  }

  /** Routable boards as the leader last published them (retained `leader/state`). */
  async routable (): Promise<string[]> {
    const c = await mqtt.connectAsync(this.url, { reconnectPeriod: 0 })
    try {
      await c.subscribeAsync(new Topics().leaderState(), { qos: 0 })
      const msg = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no leader state')), 5000)
        c.once('message', (_t, p) => { clearTimeout(timer); resolve(p.toString()) })
      })
      const s = JSON.parse(msg) as { boards: Array<{ id: string, routable: boolean }> }
      return s.boards.filter((b) => b.routable).map((b) => b.id)
    } finally { await c.endAsync() }
  }

  async waitForBoards (n: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    let seen: string[] = []
    while (Date.now() < deadline) {
      seen = await this.routable().catch(() => [])
      if (seen.length >= n) return
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    throw new Error(`only ${seen.length} of ${n} boards routable within ${timeoutMs} ms`)
  }

  async close (): Promise<void> {
    await Promise.all(this.boards.map(async (b) => await b.stop(2000)))
    const g = this.gateway
    if (g !== null && g.exitCode === null) {
      const gone = new Promise((resolve) => g.once('exit', resolve))
      g.kill('SIGTERM')
      await gone
    }
    await this.blip.close()
    rmSync(this.dir, { recursive: true, force: true })
  }
}
