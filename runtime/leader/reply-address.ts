import { WispError } from '../shared/errors.js'
import type { Topics } from '../protocol/topics.js'
import type { ReplyAddress } from './inflight.js'

/**
 * Where the reply of an invoke goes. With an MQTT 5 Response Topic (§3.3.2.3.5) the reply
 * goes there with the same Correlation Data (§3.3.2.3.6), but only under the caller's own
 * `<prefix>/result/<client>/` (`<client>` from the invoke topic, which the broker ties to the
 * username): the leader publishes as admin, so any other topic would let a client make it
 * publish where the client itself may not, on any broker. Only on a broker without accounts,
 * where any client may publish anywhere itself, `allowOutside` also accepts topics outside
 * `<prefix>/`.
 */
export const replyAddress = (
  topics: Topics,
  parsed: { fn: string, client?: string, req?: string },
  responseTopic: string | undefined,
  correlationData: Buffer | undefined,
  allowOutside = false,
  qos: 0 | 1 | 2 = 1
): ReplyAddress | null => {
  const at = qos === 2 ? { qos: 2 as const } : {}
  if (responseTopic !== undefined && responseTopic !== '') {
    if (/[+#]/.test(responseTopic)) throw new WispError('WISP_UNAUTHORIZED', 'a Response Topic must not contain wildcards (MQTT 5 §3.3.2.3.5)')
    const own = parsed.client !== undefined && responseTopic.startsWith(topics.resultsOf(parsed.client))
    const outside = responseTopic !== topics.prefix && !responseTopic.startsWith(`${topics.prefix}/`)
    if (!own && !(allowOutside && outside)) {
      throw new WispError('WISP_UNAUTHORIZED', `Response Topic "${responseTopic.slice(0, 100)}" is not under ${parsed.client === undefined ? `${topics.prefix}/result/<client>/ (invoke on ${topics.prefix}/invoke/<fn>/<client>/<req> to use one)` : topics.resultsOf(parsed.client)}`)
    }
    return correlationData === undefined ? { topic: responseTopic, ...at } : { topic: responseTopic, correlationData, ...at }
  }
  if (parsed.client !== undefined && parsed.req !== undefined) return { topic: topics.result(parsed.client, parsed.fn, parsed.req), ...at }
  return null
}
