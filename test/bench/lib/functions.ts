import { createHash } from 'node:crypto'
import type { Manifest } from '../../../runtime/protocol/messages.js'
import type { ExecRequest } from '../../../runtime/agent/executor-port.js'

export const manifestOf = (name: string, code: string, over: Partial<Manifest> = {}): Manifest => ({
  v: 1, name, sha256: createHash('sha256').update(code).digest('hex'), size: Buffer.byteLength(code),
  memory_mb: 64, timeout_ms: 10_000, concurrency: 1000, isolation: 'shared', ...over
})
let n = 0
export const req = (m: Manifest, code: string, event: unknown = null): ExecRequest => {
  n++
  return { invocation: `b${n}`, requestId: `b${n}`, manifest: m, code, event, deadlineMs: performance.timeOrigin + performance.now() + 60_000 }
}

/** A ~200 KB module: many small functions, as bundled dependencies look. */
export const bigModule = (): string => {
  const parts = ['export async function handler (event) { return { ok: true, n: f1(2) } }']
  for (let i = 0; parts.join('\n').length < 200_000; i++) parts.push(`export function f${i} (a) { const s = "${'abcdefgh'.repeat(4)}${i}"; return a * ${i} + s.length }`)
  return parts.join('\n') + '\n'
}
