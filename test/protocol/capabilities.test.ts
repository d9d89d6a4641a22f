import t, { type Test } from 'tap'
import { buildManifest } from '../../runtime/protocol/manifest.js'
import { encode, parseManifest } from '../../runtime/protocol/messages.js'
import { publishTopicProblem } from '../../runtime/protocol/publishes.js'
import { CAP_LIMITS, checkCapCall, parseCapRequest } from '../../runtime/protocol/capabilities.js'
import { publishRefusal } from '../../runtime/leader/cap-publish.js'
import { describePublishes } from '../../runtime/cli/trigger-flags.js'
import { WispError } from '../../runtime/shared/errors.js'

const CODE = 'export async function handler (e) { return e }'

const refused = (t: Test, publishes: string[], why: RegExp): void => {
  try {
    buildManifest('f', CODE, { publishes })
    t.fail(`accepted ${JSON.stringify(publishes).slice(0, 80)}`)
  } catch (err) {
    t.ok(err instanceof WispError && err.code === 'WISP_BAD_CONFIG', `WISP_BAD_CONFIG for ${JSON.stringify(publishes).slice(0, 80)}`)
    t.match((err as Error).message, why)
  }
}

t.test('publish filters: MQTT filter syntax, nothing under wisp/ or that could match it, at most 8, no repeats', async (t) => {
  for (const f of ['wisp/#', 'wisp/boards/b1/done', 'wisp', '#', '+/fan', '+']) refused(t, [f], /cluster's own topics/)
  refused(t, ['$SYS/x'], /broker topic/)
  refused(t, ['actuators/#/fan'], /'#'/)
  refused(t, ['actu+ators'], /'\+'/)
  refused(t, [''], /empty/)
  refused(t, ['a', 'a'], /twice/)
  refused(t, Array.from({ length: 9 }, (_, i) => `a/${i}`), /publishes/)
  const m = buildManifest('fan', CODE, { publishes: ['actuators/#', 'lights/+/set'] })
  t.same(m.publishes, ['actuators/#', 'lights/+/set'])
  t.same(parseManifest(encode(m)).publishes, ['actuators/#', 'lights/+/set'], 'kept through the retained manifest')
  t.equal(buildManifest('plain', CODE).publishes, undefined, 'none unless declared')
  t.equal(describePublishes(m), ', publishes actuators/#, lights/+/set')
  t.equal(describePublishes(buildManifest('plain', CODE)), '')
})

t.test('the gateway allows a publish only to a plain topic a declared filter matches', async (t) => {
  const m = buildManifest('fan', CODE, { publishes: ['actuators/#', 'lights/+/set'] })
  t.equal(publishRefusal(m, 'actuators/fan', 'wisp'), null)
  t.equal(publishRefusal(m, 'actuators/a/b/c', 'wisp'), null)
  t.equal(publishRefusal(m, 'lights/kitchen/set', 'wisp'), null)
  t.match(publishRefusal(m, 'lights/kitchen/get', 'wisp'), /may publish only to actuators\/#, lights\/\+\/set/)
  t.match(publishRefusal(m, 'actuators/+', 'wisp'), /wildcard/)
  t.match(publishRefusal(m, 'wisp/invoke/x', 'wisp'), /under "wisp\/"/)
  t.match(publishRefusal(m, '$SYS/x', 'wisp'), /broker topic/)
  t.match(publishRefusal(buildManifest('none', CODE), 'actuators/fan', 'wisp'), /declares no topics/)
  // A gateway on another prefix guards its own topics even against a filter that matches them.
  const wide = buildManifest('wide', CODE, { publishes: ['edge/#'] })
  t.match(publishRefusal(wide, 'edge/boards/b1/done', 'edge'), /under "edge\/"/)
  t.equal(publishTopicProblem('wispy/x'), null)
})

t.test('capability calls are checked against one schema, with sizes in UTF-8 bytes', async (t) => {
  t.match(checkCapCall({ op: 'publish', topic: 'a/b', payload: 'x' }), { ok: true, call: { qos: 0, retain: false } })
  t.match(checkCapCall({ op: 'publish', topic: 'a/b', payload: 'x', qos: 2 }), { ok: false, error: { code: 'WISP_BAD_PAYLOAD' } })
  t.match(checkCapCall({ op: 'kv.put', key: 'k', value: '"' + 'x'.repeat(CAP_LIMITS.valueBytes) + '"' }), { ok: false, error: { code: 'WISP_PAYLOAD_TOO_LARGE', message: /value is 65538 bytes; the limit is 65536/ } })
  t.match(checkCapCall({ op: 'kv.get', key: '\u00e9'.repeat(129) }), { ok: false, error: { code: 'WISP_PAYLOAD_TOO_LARGE', message: /key is 258 bytes/ } })
  t.match(checkCapCall({ op: 'kv.get', key: '' }), { ok: false, error: { code: 'WISP_BAD_PAYLOAD' } })
  t.match(checkCapCall({ op: 'kv.put', key: 'k', value: '1', ttl_ms: 0 }), { ok: false, error: { code: 'WISP_BAD_PAYLOAD' } })
  t.match(checkCapCall({ op: 'invoke', fn: 'Bad Name', event: 'null' }), { ok: false, error: { code: 'WISP_BAD_PAYLOAD', message: /fn/ } })
  t.match(checkCapCall({ op: 'exec', cmd: 'rm' }), { ok: false, error: { code: 'WISP_BAD_PAYLOAD' } })
  t.match(checkCapCall(null), { ok: false, error: { code: 'WISP_BAD_PAYLOAD' } })
  t.match(parseCapRequest(encode({ v: 1, id: 3, invocation: 'i1', budget_ms: 100, call: { anything: true } })), { id: 3, invocation: 'i1' })
  t.throws(() => parseCapRequest(encode({ v: 1, id: -1, invocation: 'i1', budget_ms: 100, call: {} })), { code: 'WISP_BAD_PAYLOAD' })
  t.throws(() => parseCapRequest(Buffer.from('{')), { code: 'WISP_BAD_PAYLOAD' })
})
