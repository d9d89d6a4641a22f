import { parseBoardState, type BoardState, type OfflineState } from '../protocol/messages.js'
import { incarnationTime } from '../protocol/incarnation.js'
import type { Topics } from '../protocol/topics.js'
import type { Transport } from '../transport/transport.js'
import { negotiate } from '../protocol/negotiate.js'

/** The newest state each board gossiped (or its retained one), by board id. */
export type Fleet = Map<string, BoardState | OfflineState>

/**
 * Listens on `<prefix>/boards/+/state` for `waitMs` (boards gossip every second; a board's
 * retained state arrives at once) and keeps each board's newest message.
 */
export const collectFleet = async (t: Transport, topics: Topics, waitMs: number): Promise<Fleet> => {
  const fleet: Fleet = new Map()
  await t.subscribe(topics.boardFilter('state'), (m) => {
    let s: BoardState | OfflineState
    try { s = parseBoardState(m.payload) } catch { return }
    const cur = fleet.get(s.id)
    if (cur === undefined || s.ts >= cur.ts) fleet.set(s.id, s)
  }, { qos: 0 })
  await new Promise((resolve) => setTimeout(resolve, waitMs))
  await t.unsubscribe(topics.boardFilter('state'))
  return fleet
}

const duration = (ms: number): string => {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
  return `${Math.floor(s / 86_400)}d${String(Math.floor((s % 86_400) / 3600)).padStart(2, '0')}h`
}

/** One row per board, sorted by id: uptime from its incarnation (boot time), last seen from its newest message. */
export const fleetRows = (fleet: Fleet, now: number): string[][] => {
  const rows = [['board', 'profile', 'status', 'version', 'uptime', 'last seen', 'power', 'queue']]
  for (const s of [...fleet.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const on = s.status !== 'offline' && 'profile' in s
    rows.push([
      s.id,
      'profile' in s ? s.profile : '-',
      // A board that shares no protocol version with this wisp is refused by the gateway (runtime/protocol/negotiate.ts).
      'proto' in s && negotiate(s.proto) === null ? `incompatible (speaks ${(s.proto ?? []).join(',')})` : s.status,
      'version' in s && s.version !== undefined ? s.version : '-',
      on ? duration(now - incarnationTime(s.incarnation)) : '-',
      `${duration(now - s.ts)} ago`,
      !('power_w' in s) ? '-' : s.power_unknown === true ? 'unknown' : `${s.power_w.toFixed(2)} W`,
      'queue_len' in s ? String(s.queue_len) : '-'
    ])
  }
  return rows
}
