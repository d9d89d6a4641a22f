import { encode, type Manifest } from '../protocol/messages.js'
import type { Topics } from '../protocol/topics.js'
import type { Transport } from './transport.js'

/** Publishes code (retained, by hash) then its manifest (retained), as `wisp deploy` does. */
export const publishDeployment = async (t: Transport, topics: Topics, manifest: Manifest, code: string): Promise<void> => {
  await t.publish(topics.code(manifest.sha256), Buffer.from(code, 'utf8'), { retain: true, qos: 1 })
  await t.publish(topics.fn(manifest.name), encode(manifest), { retain: true, qos: 1 })
}
