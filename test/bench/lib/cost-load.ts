// The cost benchmark's load client, a process of its own (as a user's client is): one mqtt.js
// connection, QoS 1, TCP_NODELAY. Told by IPC what to run, it answers with the latencies.
// Usage: node --import tsx test/bench/lib/cost-load.ts <mqtt url>; sends 'ready' over IPC, then
// for each { kind: 'wisp' | 'echo', n, inFlight, tag } replies { ms, latencies, failures }.
// A reply that is not `ok` (e.g. WISP_RATE_LIMITED, WISP_OVERLOADED) is a failure, not a latency.
// Invocations go out under CLIENTS reply namespaces (`wisp/invoke/hello/bench<k>/…`) from the one
// connection: the leader's invoke rate limit is per namespace (1,000/s), and a throughput
// comparison with workerd, which has none, must not measure that limit.
import mqtt from 'mqtt'
import { noDelay } from '../../../runtime/transport/mqtt-transport.js'

export interface LoadRequest { kind: 'wisp' | 'echo', n: number, inFlight: number, tag: string }
export interface LoadReply { ms: number, latencies: number[], failures: number }

const url = process.argv[2]
if (url === undefined) throw new Error('usage: cost-load.ts <mqtt url>')
const TIMEOUT_MS = 10_000
const CLIENTS = 16
const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 })
noDelay(client)
await client.subscribeAsync('wisp/result/+/hello/#', { qos: 1 })
await client.subscribeAsync('bench/echo/res/+', { qos: 1 })
const waiters = new Map<string, (ok: boolean) => void>()
client.on('message', (topic, body) => {
  const w = waiters.get(topic)
  if (w === undefined) return
  waiters.delete(topic)
  // An echo's reply is the request itself; a wisp reply says whether it ran.
  w(topic.startsWith('bench/') || body.includes('"ok":true'))
})
let ns = 0
const payload = JSON.stringify({ name: 'edge' })

/** Milliseconds to an ok reply, or null when none came within TIMEOUT_MS or it was an error. */
const call = async (kind: LoadRequest['kind'], id: string): Promise<number | null> => {
  const who = `bench${ns++ % CLIENTS}`
  const [pub, sub] = kind === 'wisp' ? [`wisp/invoke/hello/${who}/${id}`, `wisp/result/${who}/hello/${id}`] : [`bench/echo/req/${id}`, `bench/echo/res/${id}`]
  const t0 = performance.now()
  let timer: NodeJS.Timeout | undefined
  const got = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => { waiters.delete(sub); resolve(false) }, TIMEOUT_MS)
    waiters.set(sub, resolve)
  })
  await client.publishAsync(pub, payload, { qos: 1 })
  const ok = await got
  clearTimeout(timer)
  return ok ? performance.now() - t0 : null
}

const run = async (r: LoadRequest): Promise<LoadReply> => {
  const latencies: number[] = []
  let failures = 0
  let next = 0
  const t0 = performance.now()
  const worker = async (): Promise<void> => {
    while (next < r.n) {
      const i = next++
      const ms = await call(r.kind, `${r.tag}${i}`)
      if (ms === null) failures++; else latencies.push(ms)
    }
  }
  await Promise.all(Array.from({ length: Math.min(r.inFlight, r.n) }, worker))
  return { ms: performance.now() - t0, latencies, failures }
}

process.on('message', (m: LoadRequest) => { void run(m).then((reply) => process.send?.(reply)) })
process.on('disconnect', () => { void client.endAsync().then(() => process.exit(0)) })
process.send?.('ready')
