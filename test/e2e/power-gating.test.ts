import t from 'tap'
import { testCluster } from '../helpers/cluster.js'
import { TestClient } from '../helpers/mqtt.js'

const until = async (what: string, cond: () => boolean, ms: number): Promise<void> => {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

t.test('an idle board is gated (drain, shutdown, relay) and woken by a burst; no invocation lost', async (t) => {
  // Times scaled down (boots to 5 %), and the latency target with them (300 ms instead of 2 s).
  const c = await testCluster({ boards: 4, policy: 'wisp', powerPolicy: { idleMs: 1500, dwellMs: 1500, intervalMs: 300, waitTargetMs: 300 }, bootScale: 0.05 })
  t.teardown(c.close)
  const leader = c.cluster.gateway.leader
  const power = (): Record<string, string> => Object.fromEntries(leader.cluster.view().boards.map((b) => [b.id, b.power]))

  await until('a board to be gated', () => Object.values(power()).includes('gated'), 30_000)
  const gated = Object.entries(power()).filter(([, p]) => p === 'gated').map(([id]) => id)
  t.ok(gated.length >= 1, `gated after idling: ${gated.join(', ')}`)
  t.ok(Object.values(power()).includes('on'), 'never the last board')
  const gatedProc = c.cluster.boards.find((b) => b.id === gated[0])
  t.equal(gatedProc?.running, false, 'its process is stopped: the relay is open')
  const decisions = leader.recentDecisions().filter((d) => d.kind === 'power')
  t.ok(decisions.some((d) => d.choice === gated[0]), 'the gating is a recorded decision with scores')

  // A burst: every invocation is answered, none lost, and demand brings gated boards back.
  const client = await TestClient.connect(c.url)
  t.teardown(() => client.close())
  await client.sub('wisp/result/burst/#')
  const N = 150
  const woken = new Set<string>()
  // Boards the policy gates later (the idle Pi 4 often goes last) count too: the policy wakes the
  // most efficient gated board, whichever that is by then.
  const everGated = new Set(gated)
  const watch = setInterval(() => {
    for (const [id, p] of Object.entries(power())) {
      if (p === 'gated') everGated.add(id)
      else if (everGated.has(id) && (p === 'booting' || p === 'on')) woken.add(id)
    }
  }, 50)
  t.teardown(() => clearInterval(watch))
  // Each run sieves 4 M numbers (tens of ms), so the burst queues for seconds: several power ticks see it.
  await Promise.all(Array.from({ length: N }, async (_, i) => await client.pub(`wisp/invoke/primes/burst/b${i}`, JSON.stringify({ n: 4_000_000 }))))
  await client.waitFor((r) => r.length >= N, 90_000)
  const ok = client.received.filter((r) => (r.json as { ok: boolean }).ok).length
  t.equal(client.received.length, N, 'one reply per invocation')
  t.equal(ok, N, 'all answered ok: none lost')
  await until('a gated board to wake', () => woken.size > 0, 20_000).catch(() => {})
  t.ok(woken.size > 0, `woken by the burst: ${[...woken].join(', ')}`)
})
