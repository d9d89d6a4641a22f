import t from 'tap'
import { encode } from '../../runtime/protocol/messages.js'
import { INCARNATION_MAX_AHEAD_MS } from '../../runtime/protocol/incarnation.js'
import { ScriptedBoard, boardState, echoRigWithBoard, incarnationAt, until } from '../helpers/leader-rig.js'

const { rig, b1, client: attacker } = await echoRigWithBoard(t, 'wisp/result/attacker/#', { staleMs: 1500 })

let pings = 0
/** A barrier: the broker handles one client's packets in order, so once the leader answers this, it has seen what came before. */
const settle = async (): Promise<void> => {
  const topic = `wisp/result/attacker/nope/p${++pings}`
  await attacker.pub(`wisp/invoke/nope/attacker/p${pings}`, '{}')
  await attacker.waitFor(() => attacker.on(topic).length > 0, 5000)
}
const b1View = (): [string | undefined, boolean] => [rig.leader.cluster.get('b1')?.incarnation, rig.leader.cluster.routable('b1')]

t.test('"zzzz" as an incarnation does not evict a board', async (t) => {
  await attacker.pub('wisp/boards/b1/state', JSON.stringify({ v: 1, id: 'b1', incarnation: 'zzzz', status: 'offline', ts: 0 }))
  await settle()
  t.same(b1View(), [b1.incarnation, true])
})

t.test('a state whose id is not the topic\'s is ignored', async (t) => {
  await attacker.pub('wisp/boards/evil/state', encode({ v: 1, id: 'b1', incarnation: incarnationAt(Date.now() + 1000), status: 'offline', ts: 0 }))
  await attacker.pub('wisp/boards/evil/state', encode(boardState('b1', incarnationAt(Date.now() + 1000), 1)))
  await settle()
  t.same(b1View(), [b1.incarnation, true])
  t.equal(rig.leader.cluster.get('evil'), undefined)
})

t.test('an incarnation from the far future is ignored; a stale one too', async (t) => {
  await attacker.pub('wisp/boards/b1/state', encode({ v: 1, id: 'b1', incarnation: incarnationAt(Date.now() + INCARNATION_MAX_AHEAD_MS + 60_000), status: 'offline', ts: 0 }))
  await attacker.pub('wisp/boards/b1/state', encode({ v: 1, id: 'b1', incarnation: incarnationAt(Date.now() - 60_000), status: 'offline', ts: 0 }))
  await attacker.pub('wisp/boards/b1/state', encode(boardState('b1', incarnationAt(Date.now() - 60_000), 1, { queue_len: 99 })))
  await settle()
  t.same(b1View(), [b1.incarnation, true])
})

t.test('a forged newer boot going offline costs the real board one gossip, not the gateway\'s lifetime', async (t) => {
  await attacker.pub('wisp/boards/b1/state', encode({ v: 1, id: 'b1', incarnation: incarnationAt(Date.now()), status: 'offline', ts: 0 }))
  await until(() => !rig.leader.cluster.routable('b1'), 2000, 'the forged offline to land')
  await until(() => rig.leader.cluster.routable('b1'), 2000, 'b1 to come back with its next gossip')
  t.same(b1View(), [b1.incarnation, true])
})

t.test('a done counts only from the board the run went to, for the current attempt', async (t) => {
  const b2 = await ScriptedBoard.start(rig.broker.url, 'b2')
  t.teardown(() => b2.close())
  b1.mute = true
  b2.mute = true
  await until(() => rig.leader.cluster.routable('b2'), 5000, 'b2 to join')
  await attacker.pub('wisp/invoke/echo/attacker/r1', '"real"')
  await until(() => b1.runs.length + b2.runs.length > 0, 5000, 'the run to reach a board')
  const [target, other] = b1.runs.length > 0 ? [b1, b2] : [b2, b1]
  const run = target.runs[0]
  if (run === undefined) throw new Error('no run')
  const forged = (result: string, attempt = run.attempt): Buffer => encode({ v: 1, invocation: run.invocation, attempt, reply: { ok: true, result } })
  await attacker.pub(`wisp/boards/${other.id}/done`, forged('forged by the other board'))
  await attacker.pub(`wisp/boards/${target.id}/done`, forged('forged for another attempt', run.attempt + 1))
  await settle()
  t.equal(attacker.on('wisp/result/attacker/echo/r1').length, 0, 'neither forgery was relayed')
  t.equal(rig.leader.inflightCount(), 1)
  await target.client.publishAsync(`wisp/boards/${target.id}/done`, forged('from the right board'), { qos: 1 })
  await attacker.waitFor(() => attacker.on('wisp/result/attacker/echo/r1').length > 0, 5000)
  t.same(attacker.on('wisp/result/attacker/echo/r1').map((r) => (r.json as { result: unknown }).result), ['from the right board'])
  t.equal(rig.leader.inflightCount(), 0)
  b1.mute = false
})
