import fc from 'fast-check'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { boardState, incarnationAt } from './leader-rig.js'

export const ECHO_CODE = 'export async function handler (event) { return event }'
export const echo = buildManifest('echo', ECHO_CODE)
const inc = incarnationAt(Date.now())

/** A valid message of each kind: the seeds that mutations start from. */
export const SEEDS = {
  state: boardState('b1', inc, 3),
  offline: { v: 1, id: 'b1', incarnation: inc, status: 'offline', ts: 0 },
  done: { v: 1, invocation: 'i1', attempt: 0, reply: { ok: true, result: { a: 1 } }, state: boardState('b1', inc, 4) },
  run: { v: 1, invocation: 'i1', request_id: 'r1', fn: 'echo', sha256: echo.sha256, event: { a: 1 }, budget_ms: 1000, attempt: 0 },
  control: { v: 1, op: 'warm', fn: 'echo', runtimes: 1 },
  manifest: echo,
  event: { name: 'edge', n: [1, 2, 3] }
} as const

const nested = (depth: number, open = '['): string => open.repeat(depth) + (open === '[' ? ']' : '}').repeat(depth)

/** Replaces, deletes or adds one field (at any of the first two levels) of a valid message. */
const mutated = (seed: Record<string, unknown>): fc.Arbitrary<string> => {
  const keys = Object.keys(seed)
  return fc.tuple(fc.constantFrom(...keys, '__proto__', 'constructor', 'extra'), fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constant(undefined)))
    .map(([k, v]) => {
      const copy: Record<string, unknown> = { ...seed }
      if (v === undefined) delete copy[k]; else copy[k] = v
      // JSON.stringify drops "__proto__" set as a property; write it out as text instead.
      return k === '__proto__' ? JSON.stringify(copy).replace(/^\{/, `{"__proto__":${JSON.stringify(v ?? null)},`) : JSON.stringify(copy)
    })
}

/**
 * Malformed (and a few valid) payloads for a message kind: mutated valid messages, random
 * JSON, truncated JSON, random text and bytes, deep nesting, the wrong kind, and now and then
 * one past the size limits.
 */
export const payloads = (seed: Record<string, unknown>): fc.Arbitrary<Buffer> => fc.oneof(
  { weight: 6, arbitrary: mutated(seed).map((s) => Buffer.from(s)) },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? '')) },
  { weight: 2, arbitrary: fc.tuple(mutated(seed), fc.nat()).map(([s, n]) => Buffer.from(s.slice(0, n % (s.length + 1)))) },
  { weight: 2, arbitrary: fc.string({ maxLength: 80 }).map((s) => Buffer.from(s)) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 120 }).map((a) => Buffer.from(a)) },
  { weight: 2, arbitrary: fc.integer({ min: 60, max: 3000 }).map((d) => Buffer.from(nested(d))) },
  { weight: 1, arbitrary: fc.integer({ min: 60, max: 3000 }).map((d) => Buffer.from(`{"v":1,"x":${'{"a":'.repeat(d)}1${'}'.repeat(d)}}`)) },
  { weight: 1, arbitrary: fc.constantFrom(...Object.values(SEEDS)).map((s) => Buffer.from(JSON.stringify(s))) },
  { weight: 1, arbitrary: fc.constantFrom(Buffer.from(nested(100_000)), Buffer.alloc(0), Buffer.from('"\\'), Buffer.from('[[["]]]'), Buffer.from('\uFEFF{}'), Buffer.from('1e999'), Buffer.from('{"a":1,"a":2}')) },
  { weight: 1, arbitrary: fc.constantFrom(300 * 1024, 3 * 1024 * 1024).map((n) => Buffer.alloc(n, 0x5b)) }
)

const segment = fc.oneof(
  fc.constantFrom('b1', 'b2', 'echo', 'nope', 'me', 'r1', '', '+', '#', 'B1', 'a'.repeat(65), '..', 'wisp', echo.sha256),
  fc.string({ maxLength: 12 })
)

/** Topics of a kind: well-formed ones and ones with a segment missing, added, swapped or bad. */
export const topics = (valid: string[]): fc.Arbitrary<string> => fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...valid) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...valid), fc.nat(), segment).map(([t, i, s]) => { const p = t.split('/'); p[i % p.length] = s; return p.join('/') }) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...valid), segment).map(([t, s]) => `${t}/${s}`) },
  { weight: 1, arbitrary: fc.constantFrom(...valid).map((t) => t.split('/').slice(0, -1).join('/')) },
  { weight: 1, arbitrary: fc.array(segment, { maxLength: 8 }).map((a) => a.join('/')) }
)
