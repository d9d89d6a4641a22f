import t from 'tap'
import { get, request, type IncomingMessage } from 'node:http'
import { startStatusServer } from '../../runtime/status/server.js'
import type { BoardSnapshot, ClusterSnapshot } from '../../runtime/status/types.js'
import { MutableSource, boardSnapshot, boardState, clusterSnapshot } from './fixtures.js'

interface Res { status: number, headers: IncomingMessage['headers'], body: string }

const fetchText = (url: string, method = 'GET'): Promise<Res> => new Promise((resolve, reject) => {
  const req = request(url, { method, timeout: 5000 }, (res) => {
    let body = ''
    res.setEncoding('utf8')
    res.on('data', (c: string) => { body += c })
    res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body }) })
  })
  req.on('timeout', () => { req.destroy(new Error(`timeout: ${url}`)) })
  req.on('error', reject)
  req.end()
})

/** Follows /events and hands out parsed `snapshot` events in order. */
const followEvents = (url: string): { next: (ms?: number) => Promise<unknown>, ended: Promise<void>, close: () => void } => {
  const queue: unknown[] = []
  const waiters: Array<(v: unknown) => void> = []
  let buf = ''
  let endedResolve: () => void = () => {}
  const ended = new Promise<void>((resolve) => { endedResolve = resolve })
  const req = get(url, (res) => {
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => {
      buf += chunk
      let i: number
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i)
        buf = buf.slice(i + 2)
        const lines = block.split('\n')
        if (!lines.includes('event: snapshot')) continue
        const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n')
        const value: unknown = JSON.parse(data)
        const w = waiters.shift()
        if (w !== undefined) w(value)
        else queue.push(value)
      }
    })
    res.on('end', endedResolve)
    res.on('close', endedResolve)
  })
  req.on('error', endedResolve)
  const next = (ms = 3000): Promise<unknown> => {
    if (queue.length > 0) return Promise.resolve(queue.shift())
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`no SSE event within ${ms} ms`)) }, ms)
      waiters.push((v) => { clearTimeout(timer); resolve(v) })
    })
  }
  return { next, ended, close: () => { req.destroy() } }
}

t.test('board server: page, API, assets, errors', async (t) => {
  const source = new MutableSource<BoardSnapshot>(boardSnapshot())
  const srv = await startStatusServer({ kind: 'board', host: '127.0.0.1', port: 0, source })
  t.teardown(() => srv.close())
  t.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+\/$/)
  t.ok(srv.port > 0)

  const page = await fetchText(srv.url)
  t.equal(page.status, 200)
  t.match(page.headers['content-type'], /text\/html/)
  t.match(page.body, /<script src="\/assets\/uPlot\.iife\.min\.js">/)
  t.match(page.headers['content-security-policy'], /default-src 'self'/)

  const api = await fetchText(srv.url + 'api/board')
  t.equal(api.status, 200)
  t.match(api.headers['content-type'], /application\/json/)
  t.same(JSON.parse(api.body), JSON.parse(JSON.stringify(source.current)))

  for (const asset of ['assets/uPlot.iife.min.js', 'assets/uPlot.min.css', 'assets/style.css', 'assets/common.js', 'assets/board.js', 'assets/icon.svg']) {
    const r = await fetchText(srv.url + asset)
    t.equal(r.status, 200, asset)
    t.ok(r.body.length > 100, `${asset} has content`)
  }
  t.match((await fetchText(srv.url + 'assets/uPlot.iife.min.js')).body, /uPlot/)

  t.equal((await fetchText(srv.url + 'api/cluster')).status, 404, 'a board has no cluster API')
  t.equal((await fetchText(srv.url + 'assets/cluster.js')).status, 404)
  t.equal((await fetchText(srv.url + '../package.json')).status, 404, 'no path escapes')
  t.equal((await fetchText(srv.url + 'favicon.ico')).status, 204)
  const post = await fetchText(srv.url + 'api/board', 'POST')
  t.equal(post.status, 405)
  t.equal(post.headers.allow, 'GET, HEAD')
  const head = await fetchText(srv.url + 'api/board', 'HEAD')
  t.equal(head.status, 200)
  t.equal(head.body, '')
})

t.test('cluster server serves the cluster page and API', async (t) => {
  const source = new MutableSource<ClusterSnapshot>(clusterSnapshot())
  const srv = await startStatusServer({ kind: 'cluster', port: 0, source })
  t.teardown(() => srv.close())
  t.match((await fetchText(srv.url)).body, /wisp cluster/)
  const api = JSON.parse((await fetchText(srv.url + 'api/cluster')).body) as ClusterSnapshot
  t.equal(api.kind, 'cluster')
  t.same(api.boards.map((b) => b.id), ['b1', 'b2', 'b3', 'b4'])
  t.equal((await fetchText(srv.url + 'api/board')).status, 404)
  t.equal((await fetchText(srv.url + 'assets/cluster.js')).status, 200)
})

t.test('SSE sends the current snapshot, then every change', async (t) => {
  const source = new MutableSource<BoardSnapshot>(boardSnapshot())
  const srv = await startStatusServer({ kind: 'board', port: 0, source, minPushMs: 20 })
  t.teardown(() => srv.close())
  const head = await new Promise<IncomingMessage>((resolve, reject) => {
    get(srv.url + 'events', (res) => { resolve(res); res.destroy() }).on('error', reject)
  })
  t.match(head.headers['content-type'], /^text\/event-stream/)

  const ev = followEvents(srv.url + 'events')
  t.teardown(ev.close)
  const first = await ev.next() as BoardSnapshot
  t.equal(first.power_w, 1.42, 'starts with the current state')

  source.set(boardSnapshot({ power_w: 2.25, state: boardState('b1', { queue_len: 9 }) }))
  const second = await ev.next() as BoardSnapshot
  t.equal(second.power_w, 2.25)
  t.equal(second.state.queue_len, 9)

  // A burst of changes is coalesced, and the last value always arrives.
  for (let i = 1; i <= 20; i++) source.set(boardSnapshot({ power_w: 3 + i / 100 }))
  let last = await ev.next() as BoardSnapshot
  let pushes = 1
  while (last.power_w !== 3.2) { last = await ev.next() as BoardSnapshot; pushes++ }
  t.ok(pushes < 20, `20 changes became ${pushes} push(es)`)
})

t.test('a failing snapshot gives a 500, not a crash', async (t) => {
  let fail = true
  const good = boardSnapshot()
  const srv = await startStatusServer({
    kind: 'board',
    port: 0,
    source: { snapshot: () => { if (fail) throw new Error('agent not ready'); return good }, subscribe: () => () => {} }
  })
  t.teardown(() => srv.close())
  const r = await fetchText(srv.url + 'api/board')
  t.equal(r.status, 500)
  t.match(JSON.parse(r.body), { error: 'agent not ready' })
  fail = false
  t.equal((await fetchText(srv.url + 'api/board')).status, 200)
})

t.test('close() ends live event streams and unsubscribes', async (t) => {
  let listeners = 0
  const snap = boardSnapshot()
  const srv = await startStatusServer({
    kind: 'board',
    port: 0,
    source: { snapshot: () => snap, subscribe: () => { listeners++; return () => { listeners-- } } }
  })
  t.equal(listeners, 1)
  const ev = followEvents(srv.url + 'events')
  await ev.next()
  const started = Date.now()
  await srv.close()
  await ev.ended
  t.ok(Date.now() - started < 2000, 'closes promptly with a client connected')
  t.equal(listeners, 0)
  await srv.close()
  t.pass('close() twice is harmless')
})

t.test('a port in use rejects', async (t) => {
  const source = new MutableSource<BoardSnapshot>(boardSnapshot())
  const a = await startStatusServer({ kind: 'board', port: 0, source })
  t.teardown(() => a.close())
  await t.rejects(startStatusServer({ kind: 'board', port: a.port, source }), { code: 'EADDRINUSE' })
})
