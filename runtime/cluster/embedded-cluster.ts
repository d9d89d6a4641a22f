import { randomBytes } from 'node:crypto'
import type { GreenSetup } from '../leader/green/green-config.js'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Logger } from '../shared/log.js'
import { publishDeployment } from '../transport/publish-deployment.js'
import { startGateway, type Gateway } from '../gateway/main.js'
import type { LeaderOptions } from '../leader/leader.js'
import { BoardProcess } from './board-process.js'
import { SimGpioPin, type GpioPin } from '../../node-firmware-bridge/index.js'
import { getProfile } from '../../boards/index.js'
import type { PowerGateOptions as PowerPolicyOptions } from '../leader/policies/power-gate.js'
import { readFunctionsDir } from './examples.js'
import type { BrokerUser } from '../leader/broker-auth.js'
import { hashPassword } from '../shared/password.js'

/** The mix of simulated boards in `wisp start`: heterogeneous on purpose. */
export const SIM_PROFILES = ['raspberry-pi-4b', 'raspberry-pi-zero-2w', 'banana-pi-m2-zero', 'orange-pi-zero3'] as const

export interface ClusterOptions {
  readonly boards: number
  readonly mqttPort: number
  readonly httpPort: number
  /** HTTP invokes (`POST /function/<fn>`); null or absent = none. */
  readonly invokePort?: number | null
  readonly dataDir: string
  readonly functionsDir?: string
  readonly leader?: Partial<LeaderOptions>
  readonly readyTimeoutMs?: number
  readonly policy?: string
  readonly powerPolicy?: Partial<PowerPolicyOptions>
  /** Carbon signals and prices (the gateway config's `green`). */
  readonly green?: GreenSetup
  /** Factor on the profiles' boot times when a simulated relay closes (1 = as the profile says). */
  readonly bootScale?: number
  /** Broker accounts: an admin, a client `me` and one per board, with fresh passwords; needed for a non-loopback mqttHost. */
  readonly accounts?: boolean
  /** Interface of the embedded broker (default 127.0.0.1). */
  readonly mqttHost?: string
  /** An external broker (e.g. Mosquitto) for the gateway and the boards instead of the embedded aedes (open mode only). */
  readonly brokerUrl?: string
  readonly log: Logger
}

/** The passwords `wisp start --accounts` made (the boards' own are in their board configs). */
export interface ClusterAccounts { readonly admin: string, readonly me: string }

export interface EmbeddedCluster {
  readonly gateway: Gateway
  readonly boards: readonly BoardProcess[]
  readonly accounts: ClusterAccounts | null
  close: () => Promise<void>
}

const secret = (): string => randomBytes(18).toString('base64url')

/** `wisp start`: gateway in this process, each simulated board a child process running the real agent. */
export const startCluster = async (o: ClusterOptions): Promise<EmbeddedCluster> => {
  const dataDir = resolve(o.dataDir)
  const boards: BoardProcess[] = []
  // One simulated relay per board: opening it cuts the board's process, closing it boots it again.
  const relays = new Map<string, { pin: GpioPin, activeLow: boolean, profile: string }>()
  let closing = false
  const bootTimers = new Set<ReturnType<typeof setTimeout>>()
  for (let n = 1; n <= o.boards; n++) {
    const id = `b${n}`
    const profile = SIM_PROFILES[(n - 1) % SIM_PROFILES.length] as string
    const pin = new SimGpioPin(n, 1)
    const bootMs = getProfile(profile).boot_s * 1000 * (o.bootScale ?? 1)
    let boot: ReturnType<typeof setTimeout> | null = null
    pin.onChange((level) => {
      const proc = boards[n - 1]
      if (proc === undefined || closing) return
      if (boot !== null) { clearTimeout(boot); bootTimers.delete(boot); boot = null }
      if (level === 0) { void proc.stop(1000); return }
      const timer = setTimeout(() => { boot = null; bootTimers.delete(timer); if (!closing) proc.start() }, bootMs)
      boot = timer
      bootTimers.add(timer)
    })
    relays.set(id, { pin, activeLow: false, profile })
  }
  // With accounts, each board gets its own credential, minted here for this run.
  const passwords = new Map<string, string>()
  let users: Record<string, BrokerUser> | undefined
  if (o.accounts === true) {
    users = {}
    const mint = async (name: string, role: BrokerUser['role']): Promise<void> => {
      const password = secret()
      passwords.set(name, password)
      ;(users as Record<string, BrokerUser>)[name] = { password_hash: await hashPassword(password), role }
    }
    await mint('admin', 'admin')
    await mint('me', 'client')
    for (let n = 1; n <= o.boards; n++) await mint(`b${n}`, 'board')
  }
  const gateway = await startGateway({
    dataDir: join(dataDir, 'gateway'), mqttPort: o.mqttPort, mqttHost: o.mqttHost, httpPort: o.httpPort, invokePort: o.invokePort, log: o.log, leader: o.leader,
    policy: o.policy, powerPolicy: o.powerPolicy, relays, users, brokerUrl: o.brokerUrl, green: o.green
  })
  const close = async (): Promise<void> => {
    closing = true
    for (const timer of bootTimers) clearTimeout(timer)
    await Promise.all(boards.map(async (b) => await b.stop()))
    await gateway.close()
  }
  try {
    for (const { manifest, code } of readFunctionsDir(o.functionsDir)) {
      await publishDeployment(gateway.transport, gateway.topics, manifest, code)
    }
    for (let n = 1; n <= o.boards; n++) {
      const id = `b${n}`
      const dir = join(dataDir, 'boards', id)
      mkdirSync(dir, { recursive: true })
      const port = o.httpPort + n
      const config = {
        id,
        profile: SIM_PROFILES[(n - 1) % SIM_PROFILES.length],
        broker: gateway.url,
        data_dir: dir,
        http_port: port,
        http_host: '127.0.0.1',
        status_url: `http://127.0.0.1:${port}/`,
        sim: { emulate_speed: true, ina219: true },
        ...(users !== undefined ? { username: id, password: passwords.get(id) } : {})
      }
      const file = join(dir, 'board.json')
      writeFileSync(file, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 })
      chmodSync(file, 0o600) // it may hold a board's password
      const proc = new BoardProcess(id, file, o.log)
      boards.push(proc)
      proc.start()
    }
    await waitForBoards(gateway, o.boards, o.readyTimeoutMs ?? 60_000)
  } catch (err) {
    await close()
    throw err
  }
  const accounts = users !== undefined ? { admin: passwords.get('admin') as string, me: passwords.get('me') as string } : null
  return { gateway, boards, accounts, close }
}

/** Ready when every board has joined once (an idle board may be power-gated right after). */
const waitForBoards = async (g: Gateway, n: number, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  const joined = (): number => g.leader.cluster.view().boards.length
  while (Date.now() < deadline) {
    if (joined() >= n) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`only ${joined()} of ${n} boards came online within ${timeoutMs} ms`)
}
