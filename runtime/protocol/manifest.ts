import { createHash } from 'node:crypto'
import { ManifestSchema, MAX_CODE_BYTES, type Manifest } from './messages.js'
import type { z } from 'zod'
import type { TriggersSchema } from './triggers.js'
import { WispError } from '../shared/errors.js'
import { deepFreeze } from '../shared/freeze.js'
import { firstIssue } from '../shared/zod-issue.js'

export interface DeployOptions {
  readonly memory_mb?: number
  readonly timeout_ms?: number
  readonly concurrency?: number
  readonly isolation?: 'shared' | 'context'
  readonly triggers?: z.input<typeof TriggersSchema>
  /** MQTT topic filters `context.publish` may use (runtime/protocol/publishes.ts). */
  readonly publishes?: readonly string[]
  /** Cheaper deployed functions that may run instead when the caller accepts variants. */
  readonly variants?: readonly string[]
}

export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex')

/** Builds and validates the manifest of a function's code. */
export const buildManifest = (name: string, code: string, opts: DeployOptions = {}): Manifest => {
  const size = Buffer.byteLength(code, 'utf8')
  if (size > MAX_CODE_BYTES) throw new WispError('WISP_PAYLOAD_TOO_LARGE', `function code is ${size} bytes; the limit is ${MAX_CODE_BYTES}`)
  if (size === 0) throw new WispError('WISP_BAD_CODE', 'function code is empty')
  const r = ManifestSchema.safeParse({ v: 1, name, sha256: sha256(code), size, ...opts })
  if (!r.success) {
    const { where, message } = firstIssue(r.error)
    throw new WispError('WISP_BAD_CONFIG', `function ${name}: ${where}: ${message}`)
  }
  return deepFreeze(r.data)
}
