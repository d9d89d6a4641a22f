import type { Test } from 'tap'
import type { InboundMessage, Transport } from '../../runtime/transport/transport.js'

/** Waits (bounded) for `n` messages collected into `box`. */
const collect = async (box: InboundMessage[], n: number, ms = 3000): Promise<void> => {
  const deadline = Date.now() + ms
  while (box.length < n && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
}

/**
 * The contract every Transport keeps, run against each implementation. `make` returns a
 * subscriber and a publisher speaking to the same broker.
 */
export const transportContract = (t: Test, name: string, make: () => Promise<{ sub: Transport, pub: Transport, done: () => Promise<void> }>): void => {
  t.test(`${name}: exact and wildcard filters (MQTT 3.1.1 §4.7)`, async (t) => {
    const { sub, pub, done } = await make()
    t.teardown(done)
    const exact: InboundMessage[] = []
    const plus: InboundMessage[] = []
    const hash: InboundMessage[] = []
    await sub.subscribe('c/a/b', (m) => exact.push(m))
    await sub.subscribe('c/+/b', (m) => plus.push(m))
    await sub.subscribe('c/#', (m) => hash.push(m))
    await pub.publish('c/a/b', Buffer.from('1'))
    await pub.publish('c/x/b', '2')
    await pub.publish('c/x/y/z', '3')
    await collect(hash, 3)
    await collect(plus, 2)
    t.same(exact.map((m) => m.payload.toString()), ['1'])
    t.same(plus.map((m) => m.payload.toString()).sort(), ['1', '2'])
    t.same(hash.map((m) => m.payload.toString()).sort(), ['1', '2', '3'])
    t.notOk(exact[0]?.retain, 'a live message is not flagged retained')
  })

  t.test(`${name}: unsubscribe stops delivery`, async (t) => {
    const { sub, pub, done } = await make()
    t.teardown(done)
    const got: InboundMessage[] = []
    await sub.subscribe('u/1', (m) => got.push(m))
    await pub.publish('u/1', 'a')
    await collect(got, 1)
    await sub.unsubscribe('u/1')
    await pub.publish('u/1', 'b')
    await new Promise((resolve) => setTimeout(resolve, 100))
    t.same(got.map((m) => m.payload.toString()), ['a'])
  })

  t.test(`${name}: 2 MiB payloads pass intact`, async (t) => {
    const { sub, pub, done } = await make()
    t.teardown(done)
    const got: InboundMessage[] = []
    await sub.subscribe('big/1', (m) => got.push(m))
    const big = Buffer.alloc(2 * 1024 * 1024, 7)
    await pub.publish('big/1', big)
    await collect(got, 1, 5000)
    t.equal(got[0]?.payload.length, big.length)
    t.ok(got[0]?.payload.equals(big))
  })
}
