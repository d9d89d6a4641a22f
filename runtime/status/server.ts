import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Registry } from 'prom-client'
import { urlHost } from '../shared/bind.js'
import { silentLogger, type Logger } from '../shared/log.js'
import { loadAssets, type Asset } from './assets.js'
import { SseHub } from './sse.js'
import { hostChecker } from './host-check.js'
import type { BoardSnapshot, ClusterSnapshot, SnapshotSource } from './types.js'

interface Common {
  /** Interface to listen on; default 127.0.0.1. */
  host?: string
  /** 0 picks a free port. */
  port: number
  /** Scraped on /metrics; default an empty registry of its own (never prom-client's global one). */
  registry?: Registry
  log?: Logger
  /** Minimum gap between two SSE pushes (default 200 ms). */
  minPushMs?: number
  /** Host names (besides localhost, this machine's name and IP literals) the page answers to. */
  allowedHosts?: readonly string[]
  /** Live-event connections served at once; beyond, 503 (default MAX_SSE_CLIENTS). */
  maxSseClients?: number
}

/**
 * Live-event (SSE) connections one status server keeps at once. Each holds a socket and gets
 * every push; a page needs one, so 32 covers a room of viewers while a flood of connections
 * cannot exhaust a board's file descriptors or its CPU. Beyond it: 503 with Retry-After.
 */
export const MAX_SSE_CLIENTS = 32
export type StatusServerOptions =
  | Common & { kind: 'board', source: SnapshotSource<BoardSnapshot> }
  | Common & { kind: 'cluster', source: SnapshotSource<ClusterSnapshot> }

export interface StatusServer {
  /** Where the page is, e.g. http://127.0.0.1:8081/ (a wildcard host is shown as 127.0.0.1). */
  readonly url: string
  readonly port: number
  close: () => Promise<void>
}

// Same-origin only; uPlot sizes its elements through inline styles.
const CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const send = (res: ServerResponse, status: number, type: string, body: string | Buffer, head: boolean): void => {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
    'content-security-policy': CSP,
    'cache-control': 'no-store'
  })
  res.end(head ? undefined : body)
}

const json = (res: ServerResponse, status: number, value: unknown, head: boolean): void =>
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value), head)

/** Starts the board or cluster status server: page, JSON API, live events and Prometheus metrics. */
export const startStatusServer = async (opts: StatusServerOptions): Promise<StatusServer> => {
  const log = opts.log ?? silentLogger
  const registry = opts.registry ?? new Registry()
  const assets: ReadonlyMap<string, Asset> = loadAssets(opts.kind)
  const apiPath = opts.kind === 'board' ? '/api/board' : '/api/cluster'
  const snapshot = (): unknown => opts.source.snapshot()
  const hub = new SseHub({ payload: () => JSON.stringify(snapshot()), minIntervalMs: opts.minPushMs })
  const unsubscribe = opts.source.subscribe(() => { hub.changed() })

  const hostOk = hostChecker(opts.allowedHosts)
  const maxSse = opts.maxSseClients ?? MAX_SSE_CLIENTS

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://status.invalid').pathname
    const head = req.method === 'HEAD'
    // RFC 9110 §15.5.20: 421 Misdirected Request for a name this server does not answer to.
    if (!hostOk(req.headers.host)) return json(res, 421, { error: 'unknown Host; add it to the allowed host names of this page' }, head)
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD')
      json(res, 405, { error: 'method not allowed' }, false)
      return
    }
    if (path === apiPath) return json(res, 200, snapshot(), head)
    if (path === '/events') {
      if (hub.size >= maxSse) {
        res.setHeader('retry-after', '10')
        return json(res, 503, { error: `too many live connections (at most ${maxSse})` }, head)
      }
      hub.add(res); return
    }
    if (path === '/metrics') return send(res, 200, registry.contentType, await registry.metrics(), head)
    if (path === '/favicon.ico') { res.writeHead(204); res.end(); return }
    const asset = assets.get(path === '/index.html' ? '/' : path)
    if (asset !== undefined) return send(res, 200, asset.type, asset.body, head)
    json(res, 404, { error: `no such page: ${path}` }, head)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error('status request failed', { url: req.url, error: (err as Error).message })
      if (!res.headersSent) json(res, 500, { error: (err as Error).message }, false)
      else res.destroy()
    })
  })
  const host = opts.host ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, host, () => { server.off('error', reject); resolve() })
  })
  const port = (server.address() as AddressInfo).port
  const url = `http://${urlHost(host)}:${port}/`
  log.info(`${opts.kind} status page at ${url}`)

  let closed: Promise<void> | undefined
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      unsubscribe()
      hub.close()
      server.close(() => { resolve() })
      server.closeAllConnections()
    })
    return closed
  }
  return { url, port, close }
}
