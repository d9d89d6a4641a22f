import { Registry } from 'prom-client'
import type { BoardProfile } from '../../boards/schema.js'
import type { Logger } from '../shared/log.js'
import { createBoardMetrics, recordInvocation } from './metrics.js'
import { SnapshotFeed } from './feed.js'
import { startStatusServer, type StatusServer } from './server.js'
import type { BoardSnapshot } from './types.js'
import type { Agent } from '../agent/agent.js'
import type { EnergyPort } from '../../node-firmware-bridge/energy-port.js'

/** A registry that brings its gauges up to date before every scrape. */
class ScrapedRegistry extends Registry {
  constructor (private readonly refresh: () => void) { super() }
  override async metrics (): Promise<string> {
    this.refresh()
    return await super.metrics()
  }
}

/**
 * The board's status page and /metrics, fed by the agent. A port that cannot be bound
 * leaves the board running without its page (it says so): serving functions comes first.
 */
export const startBoardStatus = async (o: { agent: Agent, profile: BoardProfile, energy: EnergyPort, host: string, port: number, allowedHosts?: readonly string[], log: Logger }): Promise<StatusServer | null> => {
  const id = o.agent.state().id
  // The board's gauges are read from the agent when /metrics is scraped, not set after every
  // invocation (building the board's state per completion was a share of the agent's CPU).
  const refresh = (): void => {
    const s = o.agent.state()
    // A failing sensor's last reading is stale: no figure rather than a wrong one.
    if (s.power_unknown === true) m.power.remove({ board: id, source: s.power_source })
    else m.power.set({ board: id, source: s.power_source }, s.power_w)
    m.energy.set({ board: id }, s.energy_j)
    for (const [fn, f] of Object.entries(s.functions)) m.queueLength.set({ board: id, function: fn }, f.queue_len)
  }
  const registry = new ScrapedRegistry(refresh)
  const m = createBoardMetrics(registry)
  const feed = new SnapshotFeed<BoardSnapshot>(() => {
    const state = o.agent.state()
    return {
      kind: 'board',
      generated_ms: Date.now(),
      state,
      profile: o.profile,
      power_source: o.energy.source,
      power_w: o.energy.powerW(),
      ...(state.power_unknown === true ? { power_unknown: true as const } : {}),
      energy_j: o.energy.energyJ(),
      power_samples: o.energy.recent(),
      invocations: o.agent.recentInvocations()
    }
  })
  o.agent.onCompletion((r) => recordInvocation(m, r.fn, r.ok ? 'ok' : r.error?.code ?? 'WISP_FUNCTION_ERROR', r.receipt))
  o.agent.onChange(() => { feed.changed() })
  try {
    return await startStatusServer({ kind: 'board', host: o.host, port: o.port, source: feed, registry, log: o.log, allowedHosts: o.allowedHosts })
  } catch (err) {
    o.log.warn('status page not served', { port: o.port, err: (err as Error).message })
    return null
  }
}
