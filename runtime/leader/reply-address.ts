import { WispError } from '../shared/errors.js'
import type { Topics } from '../protocol/topics.js'
import type { ReplyAddress } from './inflight.js'

/**
 * Where the reply of an invoke goes. With an MQTT 5 Response Topic (§3.3.2.3.5) the reply
 * goes there with the same Correlation Data (§3.3.2.3.6), but only to a topic the client may
 * read: under `<prefix>/result/<client>/`, or outside `<prefix>/` altogether.
 */
export const replyAddress = (
  topics: Topics,
  parsed: { fn: string, client?: string, req?: string },
  responseTopic: string | undefined,
  correlationData: Buffer | undefined
): ReplyAddress | null => {
  if (responseTopic !== undefined && responseTopic !== '') {
    if (/[+#]/.test(responseTopic)) throw new WispError('WISP_UNAUTHORIZED', 'a Response Topic must not contain wildcards (MQTT 5 §3.3.2.3.5)')
    const inside = responseTopic === topics.prefix || responseTopic.startsWith(`${topics.prefix}/`)
    const own = parsed.client !== undefined && responseTopic.startsWith(topics.resultsOf(parsed.client))
    if (inside && !own) {
      throw new WispError('WISP_UNAUTHORIZED', `Response Topic "${responseTopic.slice(0, 100)}" is not under ${parsed.client === undefined ? `a ${topics.prefix}/result/<client>/ topic` : topics.resultsOf(parsed.client)}`)
    }
    return correlationData === undefined ? { topic: responseTopic } : { topic: responseTopic, correlationData }
  }
  if (parsed.client !== undefined && parsed.req !== undefined) return { topic: topics.result(parsed.client, parsed.fn, parsed.req) }
  return null
}
