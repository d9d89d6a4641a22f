import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import mqttPacket from 'mqtt-packet'
import { startGateway } from '../../runtime/gateway/main.js'
import { DRAIN_TIMEOUT_MS } from '../../runtime/leader/broker.js'
import { MAX_QUEUED_MESSAGES } from '../../runtime/leader/session-queue.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { freePort } from '../helpers/ports.js'
import { TestClient } from '../helpers/mqtt.js'

const MB = 2 ** 20

/**
 * A gateway on a free port and a raw MQTT client on it that subscribes to `filter` at QoS 1 and
 * then stops reading its socket (paused), with a persistent session when `clean` is false.
 */
const stalledReader = async (t: Test, clientId: string, filter: string, clean: boolean): Promise<{ gw: Awaited<ReturnType<typeof startGateway>>, port: number, slow: Socket }> => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-slow-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const port = await freePort()
  const gw = await startGateway({ dataDir: dir, mqttPort: port, mqttHost: '127.0.0.1', httpPort: null, log: silentLogger })
  t.teardown(() => gw.close())
  const slow = connect(port, '127.0.0.1')
  t.teardown(() => slow.destroy())
  await new Promise<void>((resolve) => slow.once('connect', () => resolve()))
  slow.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean, clientId, keepalive: 0 }))
  slow.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 1 }] }))
  await new Promise<void>((resolve) => slow.once('data', () => resolve())) // CONNACK (and maybe SUBACK)
  slow.pause()
  return { gw, port, slow }
}

t.test('a client that subscribes and never reads its socket neither grows the gateway without bound nor slows others', async (t) => {
  // A raw MQTT client: CONNECT, SUBSCRIBE at QoS 1, then it stops reading (its socket is paused).
  const { gw } = await stalledReader(t, 'slow-reader', 'wisp/result/slow/#', true)

  const fast = await TestClient.connect(gw.url)
  t.teardown(() => fast.close())
  await fast.sub('wisp/result/fast/#')
  const rtt = async (i: number): Promise<number> => {
    const t0 = performance.now()
    await fast.pub(`wisp/result/fast/f/r${i}`, 'x')
    await fast.waitFor((r) => r.some((m) => m.topic === `wisp/result/fast/f/r${i}`), 10_000)
    return performance.now() - t0
  }
  const before = Math.max(await rtt(0), await rtt(1), await rtt(2))
  const rss0 = process.memoryUsage().rss / MB
  const body = Buffer.alloc(64 * 1024, 1)
  // 38 MB for the reader that never reads.
  // In slices of 50 per turn of the event loop (a deeper synchronous fan-out overflows aedes's topic matcher's stack).
  for (let i = 0; i < 600; i += 50) {
    for (let j = i; j < i + 50; j++) void gw.transport.publish(`wisp/result/slow/f/r${j}`, body, { qos: 1 }).catch(() => {})
    await new Promise((resolve) => setImmediate(resolve))
  }
  const t0 = performance.now()
  const closed = new Promise<number>((resolve) => {
    gw.broker?.aedes.on('clientDisconnect', (c) => { if (c.id === 'slow-reader') resolve(performance.now() - t0) })
    setTimeout(() => resolve(Infinity), 15_000).unref()
  })
  const stalled = await rtt(3)
  const droppedAfter = await closed
  const during = Math.max(await rtt(4), await rtt(5), await rtt(6))
  const grown = process.memoryUsage().rss / MB - rss0
  t.comment(JSON.stringify({ beforeMs: before, stalledMs: stalled, droppedAfterMs: droppedAfter, afterMs: during, grownMb: grown }))
  t.ok(droppedAfter < DRAIN_TIMEOUT_MS + 3000, `the reader that never reads is disconnected (after ${droppedAfter.toFixed(0)} ms)`)
  t.ok(stalled < DRAIN_TIMEOUT_MS + 3000, `another client waits at most about the drain timeout (${stalled.toFixed(0)} ms)`)
  t.ok(during < Math.max(200, 5 * before), `then its round trip is short again (${during.toFixed(1)} ms, was ${before.toFixed(1)} ms)`)
  t.ok(grown < 30, `the gateway does not keep the 38 MB (grew ${grown.toFixed(0)} MB)`)
})

t.test('a persistent session that never reads is dropped, and what waits for it is bounded: it gets the newest messages when it returns', async (t) => {
  // clean = false: the broker keeps its subscription and queues QoS 1 messages for it while it is away.
  const { gw, port, slow } = await stalledReader(t, 'slow-keeper', 'wisp/result/keeper/#', false)
  const dropped = new Promise<boolean>((resolve) => {
    gw.broker?.aedes.on('clientDisconnect', (c) => { if (c.id === 'slow-keeper') resolve(true) })
    setTimeout(() => resolve(false), DRAIN_TIMEOUT_MS + 10_000).unref()
  })
  // 12 MB: more than the socket takes, so the broker drops it; under the session's byte bound, so its message bound decides.
  const body = Buffer.alloc(4 * 1024, 1)
  const sent = MAX_QUEUED_MESSAGES * 3
  for (let i = 0; i < sent; i += 50) {
    for (let j = i; j < i + 50; j++) void gw.transport.publish(`wisp/result/keeper/f/r${j}`, Buffer.concat([Buffer.from(`${j}:`), body]), { qos: 1 }).catch(() => {})
    await new Promise((resolve) => setImmediate(resolve))
  }
  t.ok(await dropped, 'the reader that never reads is disconnected')
  slow.destroy()

  // It comes back (same client id, clean = false) and reads: the newest MAX_QUEUED_MESSAGES, in order.
  const back = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'slow-keeper', clean: false, reconnectPeriod: 0 })
  t.teardown(() => back.endAsync(true))
  const got: number[] = []
  back.on('message', (_topic, payload) => { got.push(Number(payload.subarray(0, payload.indexOf(58)).toString())) })
  const end = Date.now() + 15_000
  while (got.length < MAX_QUEUED_MESSAGES && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 50))
  await new Promise((resolve) => setTimeout(resolve, 500)) // none beyond the bound trails in
  t.equal(got.length, MAX_QUEUED_MESSAGES, `${MAX_QUEUED_MESSAGES} kept for it, not all ${sent}`)
  t.equal(got.at(-1), sent - 1, 'the newest is among them')
  t.same(got, [...got].sort((a, b) => a - b), 'in the order published')
})
