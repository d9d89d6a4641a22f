import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Reply } from '../protocol/messages.js'
import { NAME_RE, NAME_RULE, REQ_RE } from '../protocol/topics.js'
import { urlHost } from '../shared/bind.js'
import { WispError, type ErrorCode } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import { hostChecker } from '../status/host-check.js'
import { basicAuthenticator, type Account, type Caller } from './basic-auth.js'
import { newRequestId, type HttpInvoker } from './invoker.js'
import { readBody } from './read-body.js'
import { receiptHeaders } from './receipt-headers.js'
import { httpStatusOf } from './status-codes.js'

/** The `<client>` of HTTP invokes in open mode (no accounts): one name, one rate bucket, as anonymous MQTT invokes share one. */
export const OPEN_MODE_CLIENT = 'http'

export interface InvokeServerOptions {
  /** Interface to listen on (the caller enforces loopback in open mode). */
  readonly host: string
  /** 0 picks a free port. */
  readonly port: number
  readonly invoker: HttpInvoker
  readonly maxEventBytes: number
  /** Broker accounts: role client or admin may invoke. None = open mode. */
  readonly users?: Readonly<Record<string, Account>>
  /** Host names besides localhost, this machine's name and IP literals (DNS rebinding check). */
  readonly allowedHosts?: readonly string[]
  /** Requests one client may have open at once; beyond, 429 (default 32). */
  readonly maxPerClient?: number
  /** Connections at once; beyond, new ones are dropped (default 256). */
  readonly maxConnections?: number
  /** Time for the request line and headers (default 10 s) and for the body after them (default 10 s). */
  readonly headersTimeoutMs?: number
  readonly bodyTimeoutMs?: number
  readonly log: Logger
}

export interface InvokeServer {
  readonly url: string
  readonly port: number
  close: () => Promise<void>
}

const ROUTE = /^\/(function|async-function)\/([^/]*)\/?$/

const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  const text = JSON.stringify(body) ?? 'null'
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store'
  })
  res.end(text)
}

const sendError = (res: ServerResponse, status: number, code: ErrorCode, message: string, headers: Record<string, string> = {}): void =>
  sendJson(res, status, { error: { code, message } }, headers)

/** A reply of the leader as an HTTP response: the result (200) or the error, the receipt in X-Wisp-* headers. */
const sendReply = (res: ServerResponse, reply: Reply, requestId: string): void => {
  const headers = reply.receipt !== undefined ? receiptHeaders(reply.receipt) : { 'x-wisp-request-id': requestId }
  if (reply.ok) { sendJson(res, 200, reply.result ?? null, headers); return }
  const { status, retryAfterS } = httpStatusOf(reply.error.code, reply.receipt !== undefined)
  sendError(res, status, reply.error.code, reply.error.message, retryAfterS === undefined ? headers : { ...headers, 'retry-after': String(retryAfterS) })
}

const isJsonType = (t: string | undefined): boolean => t !== undefined && /^application\/json\s*(;|$)/i.test(t)

/**
 * `POST /function/<fn>` (wait for the result) and `POST /async-function/<fn>` (202 with the
 * request id), OpenFaaS's paths, on their own port. Requests from web pages are refused: an
 * `Origin` header (which browsers send on every cross-origin POST) gets 403 and no CORS headers
 * are ever sent, a body must be `Content-Type: application/json`, and the Host header is checked
 * against DNS rebinding.
 */
export const startInvokeServer = async (o: InvokeServerOptions): Promise<InvokeServer> => {
  const hostOk = hostChecker(o.allowedHosts)
  const accounts = o.users !== undefined && Object.keys(o.users).length > 0 ? o.users : null
  const authenticate = accounts !== null ? basicAuthenticator(accounts) : null
  const maxPerClient = o.maxPerClient ?? 32
  const headersTimeoutMs = o.headersTimeoutMs ?? 10_000
  const bodyTimeoutMs = o.bodyTimeoutMs ?? 10_000
  const open = new Map<string, number>()

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // RFC 9110 §15.5.20: a name this server does not answer to (a rebound DNS name).
    if (!hostOk(req.headers.host)) return sendError(res, 421, 'WISP_UNAUTHORIZED', 'unknown Host; add it to http_allowed_hosts')
    const fetchSite = req.headers['sec-fetch-site']
    if (req.headers.origin !== undefined || (fetchSite !== undefined && fetchSite !== 'none')) {
      return sendError(res, 403, 'WISP_UNAUTHORIZED', 'requests from web pages are refused (no CORS); call from a program such as curl')
    }
    const route = ROUTE.exec(new URL(req.url ?? '/', 'http://invoke.invalid').pathname)
    if (route === null) return sendError(res, 404, 'WISP_BAD_PAYLOAD', 'no such path; POST /function/<fn> or /async-function/<fn>')
    if (req.method !== 'POST') return sendError(res, 405, 'WISP_BAD_PAYLOAD', `${String(req.method)} is not allowed; use POST`, { allow: 'POST' })
    const fn = route[2] as string
    if (!NAME_RE.test(fn)) return sendError(res, 400, 'WISP_BAD_PAYLOAD', `a function name is ${NAME_RULE}`)
    let caller: Caller = { name: OPEN_MODE_CLIENT, role: 'client' }
    if (authenticate !== null) {
      const who = await authenticate(req.headers.authorization)
      if (who === null) return sendError(res, 401, 'WISP_UNAUTHORIZED', 'give a gateway account with HTTP Basic authentication', { 'www-authenticate': 'Basic realm="wisp", charset="UTF-8"' })
      if (who.role !== 'client' && who.role !== 'admin') return sendError(res, 403, 'WISP_UNAUTHORIZED', `account ${who.name} (role ${who.role}) may not invoke functions`)
      caller = who
    }
    const given = req.headers['x-wisp-request-id']
    if (given !== undefined && (typeof given !== 'string' || !REQ_RE.test(given))) return sendError(res, 400, 'WISP_BAD_PAYLOAD', 'X-Wisp-Request-Id must be 1-64 of [A-Za-z0-9_-]')
    const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0')
    if (hasBody && !isJsonType(req.headers['content-type'])) return sendError(res, 415, 'WISP_BAD_PAYLOAD', 'the event must be sent as Content-Type: application/json')
    const n = open.get(caller.name) ?? 0
    if (n >= maxPerClient) return sendError(res, 429, 'WISP_RATE_LIMITED', `client "${caller.name}" has ${n} requests open, the most it may; retry later`, { 'retry-after': '1' })
    open.set(caller.name, n + 1)
    try {
      await invoke(req, res, route[1] === 'function', fn, caller.name, given ?? newRequestId())
    } finally {
      const left = (open.get(caller.name) ?? 1) - 1
      if (left > 0) open.set(caller.name, left); else open.delete(caller.name)
    }
  }

  const invoke = async (req: IncomingMessage, res: ServerResponse, wait: boolean, fn: string, client: string, requestId: string): Promise<void> => {
    let body: Buffer
    try { body = await readBody(req, o.maxEventBytes, bodyTimeoutMs) } catch (err) {
      const e = err as WispError & { timedOut?: boolean }
      res.shouldKeepAlive = false
      req.resume() // discard the rest unread; the connection closes after the answer
      return sendError(res, e.timedOut === true ? 408 : httpStatusOf(e.code, false).status, e.code, e.message, { connection: 'close' })
    }
    const a = await o.invoker.invoke(fn, client, requestId, body, wait)
    if (a.kind === 'refused') return sendReply(res, a.reply, requestId)
    if (a.kind === 'duplicate' && a.result === null) {
      return sendError(res, 409, 'WISP_BAD_PAYLOAD', `request id ${requestId} was already used for "${fn}" by client "${client}"; its reply went to its result topic`, { 'x-wisp-request-id': requestId })
    }
    if (!wait) return sendJson(res, 202, { request_id: requestId }, { 'x-wisp-request-id': requestId })
    const result = a.result as Promise<Reply | null>
    let timer: NodeJS.Timeout | undefined
    const gone = (): void => { if (!res.writableEnded) o.invoker.abandon(fn, client, requestId, result) }
    res.once('close', gone)
    const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), o.invoker.maxWaitMs(fn)) })
    const reply = await Promise.race([result, timeout])
    clearTimeout(timer)
    res.off('close', gone)
    if (res.destroyed) return
    if (reply === 'timeout') {
      o.invoker.abandon(fn, client, requestId, result)
      return sendError(res, 504, 'WISP_TIMEOUT', `no reply for "${fn}" in time`, { 'x-wisp-request-id': requestId })
    }
    if (reply === null) return sendError(res, 503, 'WISP_OVERLOADED', 'the gateway is shutting down', { 'retry-after': '5' })
    sendReply(res, reply, requestId)
  }

  const server = createServer({ headersTimeout: headersTimeoutMs, requestTimeout: headersTimeoutMs + bodyTimeoutMs + 1000, connectionsCheckingInterval: Math.min(1000, headersTimeoutMs) }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      o.log.error('HTTP invoke failed', { url: req.url?.slice(0, 200), err: (err as Error).message })
      if (!res.headersSent) sendError(res, 500, 'WISP_FUNCTION_ERROR', 'internal error of the gateway')
      else res.destroy()
    })
  })
  server.maxConnections = o.maxConnections ?? 256
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host, () => { server.off('error', reject); resolve() })
  })
  const port = (server.address() as AddressInfo).port
  const url = `http://${urlHost(o.host)}:${port}/`
  let closed: Promise<void> | undefined
  return {
    url,
    port,
    close: async () => {
      closed ??= new Promise<void>((resolve) => { server.close(() => { resolve() }); server.closeAllConnections() })
      await closed
    }
  }
}
