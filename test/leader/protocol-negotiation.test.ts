import t from 'tap'
import { encode } from '../../runtime/protocol/messages.js'
import { negotiate, SPOKEN_PROTOCOLS } from '../../runtime/protocol/negotiate.js'
import { fleetRows } from '../../runtime/cli/fleet.js'
import { TestClient } from '../helpers/mqtt.js'
import { ScriptedBoard, boardState, incarnationAt, leaderRig, until } from '../helpers/leader-rig.js'

t.test('negotiate: the highest version both speak; none in common is null; a board that announces nothing speaks 1', async (t) => {
  t.same(SPOKEN_PROTOCOLS, [1])
  t.equal(negotiate(undefined), 1, 'a board from before negotiation')
  t.equal(negotiate([]), 1)
  t.equal(negotiate([1]), 1)
  t.equal(negotiate([1, 2]), 1, 'a board one version ahead still speaks ours')
  t.equal(negotiate([2]), null)
  t.equal(negotiate([1, 2], [2, 3]), 2, 'a gateway one version ahead talks to a board one behind in the newest they share')
  t.equal(negotiate([1], [2, 3]), null)
})

t.test('wisp boards --live shows a board with no version in common as incompatible', async (t) => {
  const now = Date.now()
  const rows = fleetRows(new Map([
    ['a', boardState('a', incarnationAt(now), 1, { proto: [2, 3], version: '9.0.0' })],
    ['b', boardState('b', incarnationAt(now), 1, { proto: [1, 2] })],
    ['c', boardState('c', incarnationAt(now), 1)]
  ]), now)
  t.same(rows.slice(1).map((r) => r[2]), ['incompatible (speaks 2,3)', 'online', 'online'])
})

t.test('live: boards announcing an older set or a newer superset are routed to; a board with no common version is refused, listed, never sent a run', async (t) => {
  const rig = await leaderRig()
  t.teardown(rig.close)
  await rig.deploy('echo')
  const client = await TestClient.connect(rig.broker.url)
  t.teardown(() => client.close())
  await client.sub('wisp/result/c/#')
  await client.sub('wisp/boards/+/run')

  // b-old gossips no `proto` (a board from before negotiation); b-new speaks [1, 2]; b-far only [2].
  const old = await ScriptedBoard.start(rig.broker.url, 'b-old', 200)
  t.teardown(() => old.close())
  const inc = incarnationAt(Date.now())
  await client.pub('wisp/boards/b-new/state', encode(boardState('b-new', inc, 1, { proto: [1, 2] })))
  await client.pub('wisp/boards/b-far/state', encode(boardState('b-far', inc, 1, { proto: [2], version: '9.0.0' })))
  await until(() => rig.leader.cluster.routable('b-old') && rig.leader.cluster.routable('b-new'), 5000, 'b-old and b-new to join')
  await until(() => rig.leader.incompatible().has('b-far'), 5000, 'b-far to be refused')
  t.equal(rig.leader.cluster.get('b-far'), undefined, 'the refused board is not in the cluster view')
  t.same(rig.leader.incompatible().get('b-far'), { incarnation: inc, proto: [2], version: '9.0.0' })

  // The leader keeps routing to b-old (it answers); b-far never gets a run.
  for (let i = 0; i < 10; i++) await client.pub(`wisp/invoke/echo/c/r${i}`, JSON.stringify({ i }))
  await client.waitFor(() => client.received.filter((m) => m.topic.startsWith('wisp/result/c/')).length === 10, 10_000)
  t.ok(client.received.filter((m) => m.topic.startsWith('wisp/result/c/')).every((m) => (m.json as { ok: boolean }).ok), 'every invocation answered ok')
  t.equal(client.received.filter((m) => m.topic === 'wisp/boards/b-far/run').length, 0, 'no run sent to the incompatible board')

  // Once it announces a version in common it is accepted.
  await client.pub('wisp/boards/b-far/state', encode(boardState('b-far', inc, 2, { proto: [1, 2] })))
  await until(() => rig.leader.cluster.get('b-far') !== undefined, 5000, 'b-far to join')
  t.notOk(rig.leader.incompatible().has('b-far'))
})
