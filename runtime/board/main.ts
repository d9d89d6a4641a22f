import { mkdirSync, readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { Level } from 'level'
import { getProfile } from '../../boards/index.js'
import { lowPriorityHost, standbyHost } from '../../boards/extra-hosts.js'
import type { BoardConfig } from '../../boards/schema.js'
import { createEnergyPort, type EnergyPortOptions } from '../../node-firmware-bridge/index.js'
import { encode } from '../protocol/messages.js'
import { Topics } from '../protocol/topics.js'
import { WispError } from '../shared/errors.js'
import { isLoopbackHost } from '../shared/bind.js'
import { systemClock, type Clock } from '../shared/clock.js'
import type { Logger } from '../shared/log.js'
import { extraNodeArgs } from '../shared/node-flags.js'
import { packageVersion } from '../shared/package-root.js'
import { MqttTransport } from '../transport/mqtt-transport.js'
import { RunScheduler } from '../agent/run-scheduler.js'
import { Agent, newIncarnation } from '../agent/agent.js'
import { startBoardStatus } from '../status/board-status.js'
import { processTreeCpu } from '../agent/linux-process-cpu.js'
import { CodeStore } from '../agent/code-store.js'
import { LevelCodeCache } from '../agent/level-code-cache.js'
import { RuntimePool, type RuntimePoolOptions } from '../agent/runtime-pool.js'
import { LOW_PRIORITY_NICE, PriorityHosts } from '../agent/priority-hosts.js'
import type { Installer } from '../agent/installer.js'
import { SimInstaller } from '../agent/sim-installer.js'
import { LinuxInstaller } from '../agent/linux-installer.js'
import { UPGRADE_DIR } from '../shared/install-dir.js'
import { CloseList } from './close-list.js'

/** How long a board waits for its first power sample before it announces itself anyway. */
const FIRST_READING_MS = 2000

export interface RunningBoard {
  readonly agent: Agent
  readonly config: BoardConfig
  /** The status page's address as bound (null if its port could not be bound). */
  readonly pageUrl: string | null
  stop: () => Promise<void>
}

const readCa = (file: string): string => {
  try { return readFileSync(file, 'utf8') } catch (err) { throw new WispError('WISP_BAD_CONFIG', `board config: cannot read ca_file ${file}: ${(err as Error).message}`) }
}

/** The page answers to the host name of its status_url (besides localhost, the host name and IP literals). */
const pageHosts = (url: string): string[] => {
  try { return [new URL(url).hostname] } catch { return [] }
}

/**
 * Composition root of a board process: MQTT, code store, isolate runtime, power meter, agent.
 * `clock` times the agent, its run scheduler and code fetches (the system clock unless given; tests drive a
 * manual one); the power meter and the isolate runtime measure and bound real work, on the wall clock.
 */
export const startBoard = async (config: BoardConfig, log: Logger, opts: { sim: boolean, onPowerOff?: () => void, clock?: Clock, installer?: Installer, openBus?: EnergyPortOptions['openBus'] }): Promise<RunningBoard> => {
  const clock = opts.clock ?? systemClock
  const profile = getProfile(config.profile)
  const topics = new Topics(config.topic_prefix)
  const incarnation = newIncarnation()
  mkdirSync(config.data_dir, { recursive: true })
  // A page on loopback is reached on this machine only; one on an interface by the host name.
  const statusUrl = config.status_url ?? `http://${isLoopbackHost(config.http_host) ? '127.0.0.1' : hostname()}:${config.http_port}/`
  const cfg: BoardConfig = Object.freeze({ ...config, status_url: statusUrl })
  if (cfg.fallback_brokers.length > 0 && !/^mqtts?:/.test(cfg.broker)) throw new WispError('WISP_BAD_CONFIG', `board config: fallback_brokers work with an mqtt:// or mqtts:// broker, not ${cfg.broker}`)
  const offline = encode({ v: 1, id: cfg.id, incarnation, status: 'offline', ts: Math.round(clock.now()) })
  // What has started so far, closed in reverse by stop(), or at once if a later step fails: a
  // board that cannot start leaves no connection, host process or timer behind (its process
  // would otherwise not exit).
  const opened = new CloseList()
  try {
    const transport = await MqttTransport.open({
      url: cfg.broker,
      fallbacks: cfg.fallback_brokers,
      // One persistent session per board, whatever its incarnation: runs sent during a Wi-Fi blip wait at the
      // broker, and a restarted board takes its session over (what was queued for it runs, at least once).
      // With an account, the client id must begin with the username (the broker refuses others).
      clientId: `${cfg.username ?? `wisp-${cfg.id}`}-board`,
      clean: false,
      username: cfg.username,
      password: cfg.password,
      ca: cfg.ca_file !== undefined ? readCa(cfg.ca_file) : undefined,
      keepaliveS: cfg.keepalive_s,
      reconnect: true,
      // MQTT 3.1.1 §3.1.2.5: the broker publishes the Will when the board vanishes.
      will: { topic: topics.board(cfg.id, 'state'), payload: offline, retain: true, qos: 1 }
    })
    opened.add(async () => { await transport.close() })
    const codeDb = new Level<string, string>(join(cfg.data_dir, 'code'), { valueEncoding: 'utf8' })
    opened.add(async () => { await codeDb.close() })
    await codeDb.open()
    const cache = new LevelCodeCache(join(cfg.data_dir, 'compiled'))
    opened.add(async () => { await cache.close() })
    const emulate = opts.sim && (cfg.sim?.emulate_speed ?? true)
    const scheduler = new RunScheduler({ slots: cfg.run_slots ?? profile.cores, defaultMs: 100, clock })
    const pool = (o: Pick<RuntimePoolOptions, 'budgetMb' | 'niceBy' | 'standbyHost'>): RuntimePool => new RuntimePool({
      board: cfg.id,
      maxResultBytes: cfg.max_event_bytes,
      speed: emulate ? profile.speed : 1,
      maxRuntimesPerFunction: profile.cores,
      standbyHost: standbyHost(profile),
      hostExecArgv: extraNodeArgs(),
      cache,
      log,
      ...o
    })
    // Long functions (as this board measured them) in a second host at a lower OS priority; the runtime
    // budget is shared half and half. Its standby is left out to save memory: a crash there restarts it.
    const lowMb = Math.floor(profile.runtime_budget_mb / 2)
    const executor = lowPriorityHost(profile, cfg)
      ? new PriorityHosts({
        normal: pool({ budgetMb: profile.runtime_budget_mb - lowMb }),
        low: pool({ budgetMb: lowMb, niceBy: LOW_PRIORITY_NICE, standbyHost: false }),
        isLong: (fn) => scheduler.isLong(fn),
        lowBudgetMb: lowMb,
        log
      })
      : pool({ budgetMb: profile.runtime_budget_mb })
    opened.add(async () => { await executor.close() })
    await executor.start() // the isolate host processes boot now, not on the first invocation
    const cpuUsage = processTreeCpu(() => executor.hostPids, emulate ? 1 / profile.speed : 1)
    const energy = createEnergyPort({ config: cfg, profile, clock: systemClock, log, cpuUsage, openBus: opts.openBus })
    opened.add(async () => { await energy.stop() })
    await energy.start()
    // The first retained state must carry a measured power, not the 0 W of a meter not yet read.
    if (!await energy.firstReading(FIRST_READING_MS)) log.warn('no power reading yet; the first state says 0 W', { waitedMs: FIRST_READING_MS })
    const powerOff = opts.onPowerOff ?? ((): void => {
      const [cmd, ...args] = cfg.shutdown_command
      if (opts.sim || cmd === undefined) { process.kill(process.pid, 'SIGTERM'); return }
      spawn(cmd, args, { stdio: 'inherit', detached: true }).unref()
    })
    // A simulated board "installs" a version by recording it (and runs the same code); a flashed one installs a package.
    const sim = opts.sim ? new SimInstaller(cfg.data_dir, packageVersion()) : null
    const installer: Installer = opts.installer ?? sim ?? new LinuxInstaller(UPGRADE_DIR)
    const version = sim !== null ? sim.version() : packageVersion()
    const agent = new Agent({ config: cfg, profile, transport, topics, executor, energy, code: new CodeStore(codeDb, transport, topics, undefined, clock), scheduler, log, incarnation, powerOff, clock, version, installer })
    opened.add(async () => { await agent.stop() })
    const status = await startBoardStatus({ agent, profile, energy, host: cfg.http_host, port: cfg.http_port, allowedHosts: pageHosts(statusUrl), log })
    opened.add(async () => { await status?.close() })
    await agent.start()
    log.info('board online', { id: cfg.id, profile: profile.name, broker: cfg.broker, power: energy.source, page: status?.url ?? 'none' })
    return {
      agent,
      config: cfg,
      pageUrl: status?.url ?? null,
      stop: async () => {
        // Every part is closed; the first failure, if any, is the one reported.
        const failures = await opened.closeAll()
        if (failures.length > 0) throw failures[0] instanceof Error ? failures[0] : new Error(String(failures[0]))
      }
    }
  } catch (err) {
    await opened.closeAll()
    throw err
  }
}
