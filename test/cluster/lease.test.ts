import t from 'tap'
import { Redis } from 'ioredis'
import { LeaderLease } from '../../runtime/leader/lease.js'
import { systemClock } from '../../runtime/shared/clock.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { until } from '../helpers/leader-rig.js'
import { redisMissing, startRedis } from '../helpers/redis.js'

const skip = redisMissing()

const campaigner = (redis: Redis, holder: string, leaseMs: number): { lease: LeaderLease, terms: number[], deposed: number } => {
  const out = { lease: null as unknown as LeaderLease, terms: [] as number[], deposed: 0 }
  out.lease = new LeaderLease({
    redis, ns: 'wisp:lt', holder, leaseMs, clock: systemClock, log: silentLogger,
    onElected: async (token) => { out.terms.push(token) },
    onDeposed: async () => { out.deposed++ }
  })
  return out
}

t.test('one holder at a time; a released lease goes to the other with a higher token', { skip }, async (t) => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const ra = new Redis(redis.url, { maxRetriesPerRequest: 1 })
  const rb = new Redis(redis.url, { maxRetriesPerRequest: 1 })
  t.teardown(() => { ra.disconnect(); rb.disconnect() })
  const a = campaigner(ra, 'a', 900)
  a.lease.start()
  await until(() => a.lease.leading, 3000, 'a elected')
  const b = campaigner(rb, 'b', 900)
  b.lease.start()
  t.teardown(() => b.lease.stop())
  // b tries every 300 ms while a renews at the same pace: a keeps it.
  await until(() => Number(a.terms.length) === 1 && a.lease.fence === a.terms[0], 1000, 'a leads')
  const since = Date.now()
  await until(() => Date.now() - since > 1500, 3000, 'a few lease periods')
  t.notOk(b.lease.leading, 'b never took it while a renewed')
  await a.lease.stop() // releases the key
  t.equal(a.deposed, 1, 'a stepped down')
  await until(() => b.lease.leading, 2000, 'b elected')
  t.ok(b.lease.fence > (a.terms[0] ?? 0), `b's token ${b.lease.fence} > a's ${a.terms[0]}`)
})

t.test('a holder that cannot reach Redis steps down within its lease', { skip }, async (t) => {
  const redis = await startRedis()
  const r = new Redis(redis.url, { maxRetriesPerRequest: 1, commandTimeout: 200 })
  r.on('error', () => {})
  t.teardown(() => r.disconnect())
  const a = campaigner(r, 'a', 900)
  a.lease.start()
  t.teardown(() => a.lease.stop())
  await until(() => a.lease.leading, 3000, 'a elected')
  const lostAt = Date.now()
  await redis.stop()
  await until(() => a.deposed === 1, 3000, 'a deposed')
  t.ok(Date.now() - lostAt < 900 + 300, `stepped down ${Date.now() - lostAt} ms after Redis went away (lease 900 ms, renewals every 300 ms)`)
  t.notOk(a.lease.leading)
})
