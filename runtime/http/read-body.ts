import type { IncomingMessage } from 'node:http'
import { WispError } from '../shared/errors.js'

/**
 * Reads a request body of at most `maxBytes` within `timeoutMs`. Stops reading at the limit
 * (a Content-Length over it is refused before any byte is read): WISP_PAYLOAD_TOO_LARGE; a body
 * that does not arrive in time (a slow client holding the connection): WISP_BAD_PAYLOAD with
 * `timedOut`.
 */
export const readBody = async (req: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<Buffer> => {
  const declared = req.headers['content-length']
  if (declared !== undefined && Number(declared) > maxBytes) {
    throw new WispError('WISP_PAYLOAD_TOO_LARGE', `event is ${declared} bytes; the limit is ${maxBytes}`)
  }
  return await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const done = (err: WispError | null): void => {
      clearTimeout(timer)
      req.off('data', onData); req.off('end', onEnd); req.off('error', onError); req.off('aborted', onAborted)
      if (err === null) resolve(Buffer.concat(chunks, size))
      else { req.pause(); reject(err) }
    }
    const timer = setTimeout(() => done(Object.assign(new WispError('WISP_BAD_PAYLOAD', `the body did not arrive within ${timeoutMs} ms`), { timedOut: true })), timeoutMs)
    const onData = (c: Buffer): void => {
      size += c.length
      if (size > maxBytes) { done(new WispError('WISP_PAYLOAD_TOO_LARGE', `event is over ${maxBytes} bytes, the limit`)); return }
      chunks.push(c)
    }
    const onEnd = (): void => done(null)
    const onError = (err: Error): void => done(new WispError('WISP_BAD_PAYLOAD', `the body could not be read: ${err.message}`))
    const onAborted = (): void => done(new WispError('WISP_BAD_PAYLOAD', 'the client went away before the body ended'))
    req.on('data', onData); req.on('end', onEnd); req.on('error', onError); req.on('aborted', onAborted)
  })
}
