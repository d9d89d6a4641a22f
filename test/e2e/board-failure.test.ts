import t from 'tap'
import { Topics } from '../../runtime/protocol/topics.js'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { publishDeployment } from '../../runtime/transport/publish-deployment.js'
import { BROKERS, brokerMissing, testCluster } from '../helpers/cluster.js'
import { TestClient } from '../helpers/mqtt.js'

for (const broker of BROKERS) {
  t.test(`a board process killed mid-run on ${broker}: its invocations run again elsewhere, and wisp start restarts it`, { skip: brokerMissing(broker) }, async (t) => {
    const c = await testCluster({ boards: 3, policy: 'wisp-no-gate', bootScale: 0.05, broker })
    t.teardown(c.close)
    const g = c.cluster.gateway
    const code = 'export async function handler (e) { await new Promise((r) => setTimeout(r, 1500)); return e.i }'
    await publishDeployment(g.transport, new Topics(), buildManifest('sleepy', code, { timeout_ms: 5000 }), code)
    const client = await TestClient.connect(c.url)
    t.teardown(() => client.close())
    await client.sub('wisp/result/f/#')
    const N = 9
    await Promise.all(Array.from({ length: N }, async (_, i) => await client.pub(`wisp/invoke/sleepy/f/k${i}`, JSON.stringify({ i }))))
    // Let the runs start, then kill the board holding the most of them.
    await new Promise((resolve) => setTimeout(resolve, 500))
    const victim = [...g.leader.cluster.view().boards].sort((a, b) => b.inflight - a.inflight)[0]
    t.ok(victim !== undefined && victim.inflight > 0, `board ${victim?.id} has work in flight`)
    const proc = c.cluster.boards.find((b) => b.id === victim?.id)
    const oldIncarnation = g.leader.cluster.get(victim?.id ?? '')?.incarnation
    process.kill(proc?.pid as number, 'SIGKILL')

    await client.waitFor((r) => r.length >= N, 30_000)
    const replies = client.received.map((r) => r.json as { ok: boolean, result: number, receipt: { attempt: number, board: string } })
    t.equal(replies.length, N, 'every accepted invocation answered exactly once')
    t.ok(replies.every((r) => r.ok), 'none lost')
    t.same(replies.map((r) => r.result).sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i))
    t.ok(replies.some((r) => r.receipt.attempt > 0), 'the killed board\'s invocations ran again (at least once)')

    const deadline = Date.now() + 20_000
    while (Date.now() < deadline && g.leader.cluster.get(victim?.id ?? '')?.incarnation === oldIncarnation) await new Promise((resolve) => setTimeout(resolve, 100))
    t.not(g.leader.cluster.get(victim?.id ?? '')?.incarnation, oldIncarnation, 'the board came back with a new incarnation')
  })
}
