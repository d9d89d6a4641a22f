import { request } from 'node:http'

export interface HttpAnswer { status: number, headers: Record<string, string | string[] | undefined>, text: string, json: unknown }

/** One HTTP request with node:http (any header, Host included), collecting the whole answer. */
export const httpRequest = async (url: string, o: { method?: string, headers?: Record<string, string>, body?: string | Buffer } = {}): Promise<HttpAnswer> =>
  await new Promise((resolve, reject) => {
    const req = request(url, { method: o.method ?? 'POST', headers: o.headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let json: unknown = null
        try { json = JSON.parse(text) } catch { json = null }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(o.body)
  })

/** A JSON POST, as a program calling the gateway would send it. */
export const postJson = async (url: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> =>
  await httpRequest(url, { headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) })
