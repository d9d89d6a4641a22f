import t from 'tap'
import { testCluster } from '../helpers/cluster.js'
import { TestClient } from '../helpers/mqtt.js'

t.test('a simulated board draws more power when its isolates work (INA219 model driven by the runtime\'s real CPU)', async (t) => {
  const c = await testCluster({ boards: 1, policy: 'wisp-no-gate' })
  t.teardown(c.close)
  const leader = c.cluster.gateway.leader
  const power = (): number => leader.cluster.view().boards[0]?.powerW ?? 0
  await new Promise((resolve) => setTimeout(resolve, 2500))
  const idle = power()
  const profile = leader.cluster.view().boards[0]?.profile
  t.ok(profile !== undefined && Math.abs(idle - profile.idle_w) < 0.5, `idle ${idle} W is near the profile's ${profile?.idle_w} W`)

  const client = await TestClient.connect(c.url)
  t.teardown(() => client.close())
  await client.sub('wisp/result/pl/#')
  let peak = 0
  let sent = 0
  const until = Date.now() + 5000
  while (Date.now() < until) {
    const wave = Array.from({ length: 4 }, async () => await client.pub(`wisp/invoke/primes/pl/p${sent++}`, JSON.stringify({ n: 2_000_000 })))
    await Promise.all(wave)
    await client.waitFor((r) => r.length >= sent, 30_000)
    peak = Math.max(peak, power())
  }
  t.ok(peak > idle + 0.5, `under load the board drew ${peak} W against ${idle} W idle`)
  const receipts = client.received.map((r) => (r.json as { receipt: { energy_mj: number, power_source: string } }).receipt)
  t.ok(receipts.every((r) => r.power_source === 'ina219'), 'receipts come from the (simulated) INA219')
  t.ok(receipts.every((r) => r.energy_mj > 0), 'every receipt carries energy')
})
