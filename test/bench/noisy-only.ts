// Only the noisy-neighbour part of the reliability bench, for investigating it; prints, records nothing.
import { testCluster } from '../helpers/cluster.js'
import { measureNoisy } from '../helpers/noisy.js'

const runs = Number(process.env.WISP_NOISY_RUNS ?? 60)
const c = await testCluster({ boards: 2, policy: 'wisp-no-gate' })
try {
  const r = await measureNoisy(c.cluster.gateway, c.url, runs)
  for (const [k, v] of Object.entries(r)) console.log(k, JSON.stringify(v))
} finally { await c.close() }
