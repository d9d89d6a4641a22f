import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { batchedSend, unbatch, type Batch } from '../../runtime/agent/ipc-batch.js'

type Msg = { t: 'n', i: number } | { t: 'end' }

/** Write system calls this process has made so far (proc(5), /proc/<pid>/io `syscw`). */
const writeCalls = (): number => Number(/syscw:\s*(\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1])

// A child on a real IPC channel (advanced serialisation, as the runtime host's) that sends back every message event as it came.
const echo = (): ReturnType<typeof spawn> => spawn(process.execPath, ['-e', "process.on('message', (m) => process.send(m))"], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' })

t.test('the messages of one turn cross the channel as one message, in order', { skip: process.platform !== 'linux' && 'needs /proc/self/io' }, async (t) => {
  const child = echo()
  t.teardown(() => { child.kill() })
  const events: Array<Msg | Batch<Msg>> = []
  const got: Msg[] = []
  const ended = new Promise<void>((resolve) => {
    child.on('message', (m: Msg | Batch<Msg>) => {
      events.push(m)
      unbatch(m, (x) => { got.push(x); if (x.t === 'end') resolve() })
    })
  })
  const send = batchedSend<Msg>((m) => { child.send(m) })
  const N = 100
  const before = writeCalls()
  for (let i = 0; i < N; i++) send({ t: 'n', i })
  send({ t: 'end' })
  await ended
  const writes = writeCalls() - before
  t.equal(events.length, 1, `${N + 1} messages came back as ${events.length} message event(s)`)
  t.ok(writes <= 3, `and left in ${writes} write call(s)`)
  t.same(got, [...[...Array(N).keys()].map((i) => ({ t: 'n', i })), { t: 'end' }], 'each once, in order')
})

t.test('a message alone goes as itself; later turns make batches of their own', async (t) => {
  const child = echo()
  t.teardown(() => { child.kill() })
  const events: Array<Msg | Batch<Msg>> = []
  let want = 0
  let wake = (): void => {}
  child.on('message', (m: Msg | Batch<Msg>) => { events.push(m); if (events.length >= want) wake() })
  const until = async (n: number): Promise<void> => { want = n; if (events.length < n) await new Promise<void>((resolve) => { wake = resolve }) }
  const send = batchedSend<Msg>((m) => { child.send(m) })
  send({ t: 'n', i: 0 })
  await until(1)
  t.same(events[0], { t: 'n', i: 0 }, 'one message: no batch around it')
  send({ t: 'n', i: 1 })
  send({ t: 'n', i: 2 })
  await until(2)
  send({ t: 'n', i: 3 })
  send({ t: 'end' })
  await until(3)
  t.same(events.slice(1), [{ t: 'batch', msgs: [{ t: 'n', i: 1 }, { t: 'n', i: 2 }] }, { t: 'batch', msgs: [{ t: 'n', i: 3 }, { t: 'end' }] }], 'one batch per turn')
})

t.test('unbatch ignores a batch that holds no list (the host is untrusted)', async (t) => {
  const seen: unknown[] = []
  unbatch({ t: 'batch', msgs: 'x' } as unknown as Batch<Msg>, (m) => seen.push(m))
  unbatch({ t: 'batch', msgs: null } as unknown as Batch<Msg>, (m) => seen.push(m))
  t.same(seen, [])
})
