import { parseControl, parseManifest, parseRun, type ControlMessage, type Manifest, type RunMessage } from '../protocol/messages.js'
import type { Topics } from '../protocol/topics.js'
import type { InboundMessage } from '../transport/transport.js'

export type Read<T> = { kind: 'ignore', why: string } | { kind: 'ok', value: T }

const attempt = <T>(fn: () => T): Read<T> => {
  try { return { kind: 'ok', value: fn() } } catch (err) { return { kind: 'ignore', why: (err as Error).message } }
}

/** `boards/<id>/run`: a retained run would replay on every resubscribe (MQTT 3.1.1 §3.3.1.3); one past its budget is dropped. */
export const readRun = (m: InboundMessage): Read<RunMessage> => {
  if (m.retain) return { kind: 'ignore', why: 'retained run' }
  const r = attempt(() => parseRun(m.payload))
  if (r.kind === 'ok' && r.value.budget_ms <= 0) return { kind: 'ignore', why: `run ${r.value.invocation} is past its budget` }
  return r
}

/** `boards/<id>/control`: retained controls are ignored like runs. */
export const readControl = (m: InboundMessage): Read<ControlMessage> =>
  m.retain ? { kind: 'ignore', why: 'retained control' } : attempt(() => parseControl(m.payload))

/** `functions/<fn>`: an empty payload deletes (value null); the manifest must name its topic's function. */
export const readManifest = (m: InboundMessage, topics: Topics): Read<{ fn: string, manifest: Manifest | null }> => {
  const t = attempt(() => topics.parse(m.topic))
  if (t.kind === 'ignore') return t
  if (t.value.kind !== 'function') return { kind: 'ignore', why: 'not a functions topic' }
  const fn = t.value.fn
  if (m.payload.length === 0) return { kind: 'ok', value: { fn, manifest: null } }
  const r = attempt(() => parseManifest(m.payload))
  if (r.kind === 'ignore') return r
  if (r.value.name !== fn) return { kind: 'ignore', why: `manifest of "${r.value.name}" published on the topic of "${fn}"` }
  return { kind: 'ok', value: { fn, manifest: r.value } }
}
