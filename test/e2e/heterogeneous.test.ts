import t from 'tap'
import { testCluster } from '../helpers/cluster.js'
import { TestClient } from '../helpers/mqtt.js'

const N = 60

const split = async (policy: string): Promise<{ fast: number, slow: number }> => {
  const c = await testCluster({ boards: 2, policy })
  try {
  const client = await TestClient.connect(c.url)
  await client.sub('wisp/result/het/#')
  // Waves of 6 keep both boards busy, so queue length and measured service rate decide.
  for (let w = 0; w < N / 6; w++) {
    await Promise.all(Array.from({ length: 6 }, async (_, i) => await client.pub(`wisp/invoke/primes/het/w${w}x${i}`, JSON.stringify({ n: 300000 }))))
    await client.waitFor((r) => r.length >= (w + 1) * 6, 30_000)
  }
  const by = new Map<string, number>()
  for (const r of client.received) {
    const board = (r.json as { receipt: { board: string } }).receipt.board
    by.set(board, (by.get(board) ?? 0) + 1)
  }
  await client.close()
  return { fast: by.get('b1') ?? 0, slow: by.get('b2') ?? 0 }
  } finally { await c.close() }
}

t.test('Mu balancing shifts load to the faster board (Pi 4 vs an emulated Zero 2 W at 0.4x)', async (t) => {
  const { fast, slow } = await split('wisp-no-gate')
  t.equal(fast + slow, N, 'every invocation answered')
  t.ok(fast > slow * 1.3, `the Pi 4 (b1) took ${fast}, the Zero 2 W (b2) ${slow}`)
})

t.test('round-robin (the baseline) splits the same load evenly, blind to speed', async (t) => {
  const { fast, slow } = await split('baseline')
  t.equal(fast + slow, N, 'every invocation answered')
  t.ok(Math.abs(fast - slow) <= 4, `round-robin gave b1 ${fast} and b2 ${slow}`)
})
