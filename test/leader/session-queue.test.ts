import t from 'tap'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { MAX_QUEUED_MESSAGES, SessionQueues, type QueuedPacket } from '../../runtime/leader/session-queue.js'

const fixture = fileURLToPath(new URL('../fixtures/session-queue-conformance.ts', import.meta.url))
const client = { id: 'c1' }
const pub = (n: number, bytes = 10): QueuedPacket => ({ cmd: 'publish', topic: 't', payload: Buffer.alloc(bytes, n % 256), qos: 1, retain: false, dup: false, brokerId: 'b', brokerCounter: n })
const counters = async (q: SessionQueues): Promise<number[]> => {
  const out: number[] = []
  for await (const p of q.outgoingStream(client)) out.push((p as QueuedPacket).brokerCounter ?? -1)
  return out
}

t.test("aedes-persistence's own conformance suite passes with the session queue installed", async (t) => {
  const out = await new Promise<{ code: number | null, text: string }>((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', fixture], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, text: `${stdout}${stderr}` })
    })
  })
  const fail = /# fail (\d+)/.exec(out.text)?.[1]
  const pass = /# pass (\d+)/.exec(out.text)?.[1]
  t.equal(out.code, 0, 'exits 0')
  t.equal(fail, '0', 'no failing case')
  t.ok(Number(pass) >= 40, `its cases ran (${pass ?? '?'} passed)`)
  if (out.code !== 0) t.comment(out.text.split('\n').filter((l) => /^not ok|Error/.test(l)).slice(0, 10).join('\n'))
})

t.test('a session keeps at most its bound of messages, oldest dropped; a dropped one in flight is still let through', async (t) => {
  const q = new SessionQueues(3, 1_000_000)
  for (let n = 1; n <= 5; n++) await q.outgoingEnqueueCombi([{ clientId: 'c1' }], pub(n))
  t.same(await counters(q), [3, 4, 5], 'the newest 3, oldest first')
  t.equal(q.dropped, 2)
  await q.outgoingUpdate(client, { ...pub(1), messageId: 7 })
  t.equal(await q.outgoingClearMessageId(client, { messageId: 7 }), undefined, 'a dropped message sent and acknowledged: nothing to clear, no error')
  await q.outgoingUpdate(client, { ...pub(4), messageId: 9 })
  t.equal((await q.outgoingClearMessageId(client, { messageId: 9 }))?.brokerCounter, 4, 'PUBACK clears by messageId')
  t.same(await counters(q), [3, 5])
  t.equal(q.size('c1'), 2)
})

t.test('a session keeps at most its bound of bytes', async (t) => {
  const q = new SessionQueues(1000, 100)
  for (let n = 1; n <= 10; n++) await q.outgoingEnqueue({ clientId: 'c1' }, pub(n, 39)) // 40 bytes with the topic
  t.same(await counters(q), [9, 10])
  t.ok(q.bytes <= 100, `${q.bytes} bytes`)
})

t.test('sending and acknowledging cost the same with 1000 messages unacknowledged as with 10', async (t) => {
  // aedes-persistence's array took a scan of every unacknowledged message per send and per PUBACK.
  const usPerOp = async (window: number): Promise<number> => {
    const q = new SessionQueues()
    const total = 20_000
    const t0 = performance.now()
    for (let done = 0; done < total; done += window) {
      for (let i = 0; i < window; i++) await q.outgoingEnqueue({ clientId: 'c1' }, pub(done + i))
      for (let i = 0; i < window; i++) await q.outgoingUpdate(client, { ...pub(done + i), messageId: i + 1 })
      for (let i = 0; i < window; i++) await q.outgoingClearMessageId(client, { messageId: i + 1 })
    }
    t.equal(q.size('c1'), 0, `window ${window}: every acknowledged message left the queue`)
    return (performance.now() - t0) * 1000 / (3 * total)
  }
  // Interleaved, best of three each: the machine's load hits both alike.
  const small: number[] = []; const large: number[] = []
  for (let r = 0; r < 3; r++) { small.push(await usPerOp(10)); large.push(await usPerOp(MAX_QUEUED_MESSAGES)) }
  const ratio = Math.min(...large) / Math.min(...small)
  t.ok(ratio < 4, `${Math.min(...large).toFixed(2)} µs per operation with ${MAX_QUEUED_MESSAGES} unacknowledged, ${Math.min(...small).toFixed(2)} µs with 10 (x${ratio.toFixed(1)})`)
})
