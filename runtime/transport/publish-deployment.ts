import { encode, type Manifest } from '../protocol/messages.js'
import type { Topics } from '../protocol/topics.js'
import type { Transport } from './transport.js'

/** Publishes a function's code, retained on `<p>/code/<sha256>` (boards fetch it by hash). */
export const publishCode = async (t: Transport, topics: Topics, manifest: Manifest, code: string): Promise<void> => {
  await t.publish(topics.code(manifest.sha256), Buffer.from(code, 'utf8'), { retain: true, qos: 1 })
}

/**
 * Publishes code (retained, by hash) then its manifest (retained) directly, without the
 * gateway's acknowledgement (`wisp deploy` asks the gateway instead; see runtime/leader/admin.ts).
 */
export const publishDeployment = async (t: Transport, topics: Topics, manifest: Manifest, code: string): Promise<void> => {
  await publishCode(t, topics, manifest, code)
  await t.publish(topics.fn(manifest.name), encode(manifest), { retain: true, qos: 1 })
}
