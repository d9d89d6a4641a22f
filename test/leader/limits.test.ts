import t from 'tap'
import { MAX_JSON_DEPTH } from '../../runtime/protocol/json-limits.js'
import { TestClient } from '../helpers/mqtt.js'
import { ManualClock } from '../../runtime/shared/clock.js'
import { echoRigWithBoard, gossipHeard } from '../helpers/leader-rig.js'

interface R { ok: boolean, result?: unknown, error?: { code: string, message: string } }

const clock = new ManualClock(1_000_000)
const { rig, b1, client } = await echoRigWithBoard(t, 'wisp/result/attacker/#', { staleMs: 1500 }, clock)

let n = 0
const call = async (payload: string | Buffer): Promise<R> => {
  const req = `r${++n}`
  const topic = `wisp/result/attacker/echo/${req}`
  await client.pub(`wisp/invoke/echo/attacker/${req}`, payload)
  await client.waitFor(() => client.on(topic).length > 0, 10_000)
  return client.on(topic)[0]?.json as R
}
const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth)

t.test('a 100,000-deep event is answered WISP_BAD_PAYLOAD and the leader keeps serving', async (t) => {
  const r = await call(nested(100_000))
  t.equal(r.error?.code, 'WISP_BAD_PAYLOAD')
  t.match(r.error?.message, /deeper than 64/)
  // Gossip keeps flowing: the leader hears every gossip of b1 over more than staleMs, and b1 stays routable.
  await clock.run(2000, { settle: gossipHeard(rig.leader, [{ id: 'b1', sentAt: () => b1.lastGossipAt }]), stop: () => !rig.leader.cluster.routable('b1') })
  t.equal(clock.now(), 1_002_000, 'routable all along')
  t.same((await call('{"a":[1,2]}')).result, { a: [1, 2] }, 'an ordinary invoke after it is answered')
})

t.test('depth is measured outside strings; the limit itself is allowed', async (t) => {
  t.same((await call(nested(MAX_JSON_DEPTH))).ok, true)
  t.equal((await call(nested(MAX_JSON_DEPTH + 1))).error?.code, 'WISP_BAD_PAYLOAD')
  t.same((await call(JSON.stringify({ s: '[[[['.repeat(100) + '\\"[' }))).ok, true, 'brackets and escaped quotes inside a string do not nest')
})

t.test('an event past the size limit is answered WISP_PAYLOAD_TOO_LARGE', async (t) => {
  const r = await call(JSON.stringify({ s: 'x'.repeat(300 * 1024) }))
  t.equal(r.error?.code, 'WISP_PAYLOAD_TOO_LARGE')
})

t.test('deep or huge board messages are dropped without disturbing the board', async (t) => {
  const attacker = await TestClient.connect(rig.broker.url)
  t.teardown(() => attacker.close())
  await attacker.pub('wisp/boards/b1/state', `{"v":1,"id":"b1","functions":${nested(100_000)}}`, { qos: 0 })
  await attacker.pub('wisp/boards/b1/done', `{"v":1,"invocation":"x","attempt":0,"reply":{"ok":true,"result":${nested(100_000)}}}`)
  await attacker.pub('wisp/boards/b1/state', Buffer.alloc(512 * 1024, 0x20), { qos: 0 })
  t.same((await call('7')).result, 7)
  t.ok(rig.leader.cluster.routable('b1'))
})
