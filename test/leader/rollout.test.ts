import t from 'tap'
import { randomBytes } from 'node:crypto'
import { systemClock } from '../../runtime/shared/clock.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { Rollout, type Progress, type RolloutBoard } from '../../runtime/leader/upgrade.js'
import type { ControlMessage } from '../../runtime/protocol/messages.js'

/**
 * Boards as the leader sees them, acting on controls the way an agent does: `healthy: false`
 * comes back on the new version but never answers a ping; `busy` never drains.
 */
const fleet = (spec: Record<string, { healthy?: boolean, busy?: boolean }>): { boards: Map<string, RolloutBoard & { previous?: string }>, rollout: Rollout } => {
  const boards = new Map<string, RolloutBoard & { previous?: string }>()
  const inc = (): string => randomBytes(4).toString('hex')
  for (const id of Object.keys(spec)) boards.set(id, { status: 'online', incarnation: inc(), version: '1.0.0', inflight: spec[id]?.busy === true ? 1 : 0, workRuns: 0, upgradeError: undefined, pong: undefined })
  const control = async (id: string, c: Omit<ControlMessage, 'v'>): Promise<void> => {
    const b = boards.get(id)
    if (b === undefined) return
    const healthy = spec[id]?.healthy !== false
    // The board answers a little later, as over MQTT.
    setTimeout(() => {
      switch (c.op) {
        case 'drain': boards.set(id, { ...b, status: 'draining' }); return
        case 'resume': boards.set(id, { ...b, status: 'online' }); return
        case 'upgrade': boards.set(id, { ...b, status: 'online', incarnation: inc(), version: c.version, previous: b.version }); return
        case 'rollback': boards.set(id, { ...b, status: 'online', incarnation: inc(), version: b.previous ?? b.version, previous: undefined }); return
        case 'ping': if (healthy) boards.set(id, { ...b, pong: c.nonce })
      }
    }, 20)
  }
  const rollout = new Rollout({ board: (id) => boards.get(id), boardIds: () => [...boards.keys()], control, clock: systemClock, log: silentLogger })
  return { boards, rollout }
}

// The system clock's timers do not keep a process alive (a gateway has its broker for that): this test keeps it alive.
const alive = setInterval(() => {}, 1000)
t.teardown(() => clearInterval(alive))

t.test('a board that comes back but fails its health check is rolled back to its previous version; the rollout stops there', async (t) => {
  const { boards, rollout } = fleet({ b1: {}, b2: { healthy: false }, b3: {} })
  const seen: Progress[] = []
  const r = await rollout.run({ to: '2.0.0', timeoutMs: 600 }, (p) => seen.push(p))
  t.equal(r.ok, false)
  t.same(r.boards.map((b) => [b.board, b.outcome, b.step ?? null]), [['b1', 'upgraded', null], ['b2', 'failed', 'health'], ['b3', 'not-started', null]])
  t.equal(r.boards[1]?.rolled_back, true)
  t.same([...boards.values()].map((b) => b.version), ['2.0.0', '1.0.0', '1.0.0'])
  t.same(seen.map((p) => `${p.board}:${p.step}`), ['b1:drain', 'b1:install', 'b1:health', 'b1:done', 'b2:drain', 'b2:install', 'b2:health', 'b2:done'])
})

t.test('a board that does not drain in time is resumed, not upgraded; a second rollout at once is refused', async (t) => {
  const { boards, rollout } = fleet({ b1: { busy: true }, b2: {} })
  const running = rollout.run({ to: '2.0.0', timeoutMs: 400 })
  await t.rejects(rollout.run({ to: '3.0.0', timeoutMs: 400 }), { code: 'WISP_OVERLOADED' })
  const r = await running
  t.same(r.boards.map((b) => [b.board, b.outcome, b.step ?? null]), [['b1', 'failed', 'drain'], ['b2', 'not-started', null]])
  t.same([...boards.values()].map((b) => [b.status, b.version]), [['online', '1.0.0'], ['online', '1.0.0']])
})

t.test('offline boards are skipped, unknown ones refused', async (t) => {
  const { boards, rollout } = fleet({ b1: {}, b2: {} })
  boards.set('b2', { ...(boards.get('b2') as RolloutBoard), status: 'offline' })
  const r = await rollout.run({ to: '2.0.0', timeoutMs: 600 })
  t.equal(r.ok, true)
  t.same(r.boards.map((b) => b.outcome), ['upgraded', 'skipped'])
  await t.rejects(rollout.run({ to: '2.0.0', boards: ['b9'], timeoutMs: 600 }), { code: 'WISP_BAD_CONFIG' })
})
