import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { startClusteredGateway } from '../../runtime/gateway/clustered.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { TestClient } from '../helpers/mqtt.js'
import { redisMissing, startRedis } from '../helpers/redis.js'

const skip = redisMissing()

t.test('an invoke a broker acknowledged while no leader was up is answered by the next leader', { skip }, async (t) => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const r = new Redis(redis.url)
  t.teardown(() => r.disconnect())
  // A leader that just died: its lease is still there for 1.5 s.
  await r.set('wisp:wisp:leader', 'ghost', 'PX', 1500)
  const dir = mkdtempSync(join(tmpdir(), 'wisp-cgw-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const g = await startClusteredGateway({ dataDir: dir, mqttPort: 0, httpPort: null, log: silentLogger, cluster: { redis: redis.url, leaseMs: 1500 } })
  t.teardown(g.close)

  const c = await TestClient.connect(g.url)
  t.teardown(() => c.close())
  await c.sub('wisp/result/pc/#')
  await c.pub('wisp/invoke/nosuch/pc/p1', '{}') // PUBACKed by the broker: no leader anywhere
  t.equal(g.leader(), null, 'nobody leads yet')
  t.same(await r.hkeys('wisp:wisp:pending'), ['wisp/invoke/nosuch/pc/p1'], 'the invoke waits in Redis')
  const got = await c.waitFor((x) => x.length > 0, 10_000)
  t.match(got[0], { topic: 'wisp/result/pc/nosuch/p1', json: { ok: false, error: { code: 'WISP_UNKNOWN_FUNCTION' } } }, 'the new leader answered it')
  const deadline = Date.now() + 5000
  let left = await r.hkeys('wisp:wisp:pending')
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    left = await r.hkeys('wisp:wisp:pending')
  }
  t.same(left, [], 'and cleared it')
  t.equal(c.received.length, 1, 'once')
})
