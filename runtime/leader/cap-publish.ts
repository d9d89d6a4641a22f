import type { Manifest } from '../protocol/messages.js'
import { publishTopicProblem } from '../protocol/publishes.js'
import { topicMatches } from '../transport/transport.js'

/**
 * Why `fn` may not publish to `topic` with `context.publish`, or null when it may: the topic must
 * be a plain topic name outside the cluster's own topics and match one of the filters its
 * manifest declares (`wisp deploy --publishes`). The topic itself is checked against the prefix,
 * so no filter can open the cluster's own topics.
 */
export const publishRefusal = (m: Manifest, topic: string, prefix: string): string | null => {
  const why = publishTopicProblem(topic, prefix)
  if (why !== null) return `topic "${topic.slice(0, 128)}" ${why}`
  const declared = m.publishes ?? []
  if (declared.some((f) => topicMatches(f, topic))) return null
  if (declared.length === 0) return `${m.name} declares no topics to publish to (deploy it with --publishes FILTER)`
  return `${m.name} may publish only to ${declared.join(', ')}, not to "${topic.slice(0, 128)}"`
}
