import { newIncarnation } from '../../runtime/protocol/incarnation.js'
import type { Test } from 'tap'
import { spawn } from 'node:child_process'
import mqtt from 'mqtt'
import type { Gateway } from '../../runtime/gateway/main.js'
import { TestClient, type Received } from './mqtt.js'
import { clientsMissing } from './mosquitto.js'

/** The accounts of the ACL matrix: b1 is a running agent, b2/b3 are board accounts with no agent. */
export const ACCOUNTS = {
  admin: 'admin',
  alice: 'client',
  bob: 'client',
  b1: 'board',
  b2: 'board',
  b3: 'board'
} as const
export type Account = keyof typeof ACCOUNTS
export const passwordOf = (u: string): string => `pw-${u}-0123456789`

export const HELLO = 'export async function handler (e) { return "hello " + (e?.name ?? "you") }'
const EVIL = 'export async function handler () { return "pwned" }'
const EVIL_SHA = 'e'.repeat(64)

export interface MatrixTarget {
  readonly url: string
  readonly gw: Gateway
  /** The sha256 of hello as deployed by the admin. */
  readonly helloSha: string
  /** aedes refuses a client id that is not `<username>` or `<username>-…`; Mosquitto cannot (SECURITY.md). */
  readonly clientIdsTied: boolean
  /** aedes lets a board read code by exact hash only; Mosquitto's ACL also matches `wisp/code/+`. */
  readonly codeByExactHashOnly: boolean
  /** aedes refuses retained publishes from clients; Mosquitto's ACL has no rule for the retain flag. */
  readonly retainRestricted: boolean
  /** The broker speaks MQTT 5, so clients can name a Response Topic (aedes speaks 3.1.1). */
  readonly mqtt5: boolean
}

let seq = 0
const connect = async (url: string, user: Account, clientId = `${user}-m${++seq}`): Promise<TestClient> =>
  await TestClient.connect(url, { username: user, password: passwordOf(user), clientId })

const closed = (c: TestClient): Promise<void> => new Promise((resolve) => {
  if (!c.client.connected) { resolve(); return }
  c.client.once('close', () => resolve())
})

/** What an account may publish, to show the observer would have seen its traffic. */
const controlTopic = (u: Account, n: number): string => ACCOUNTS[u] === 'board' ? `wisp/boards/${u}/done` : `wisp/invoke/no-such-fn/${u}/ctl${n}`
/** What an account may read, where the admin drops a marker after the probe. */
const ownFilter = (u: Account): { filter: string, topic: (n: number) => string } => ACCOUNTS[u] === 'board'
  ? { filter: `wisp/boards/${u}/control`, topic: () => `wisp/boards/${u}/control` }
  : { filter: `wisp/result/${u}/#`, topic: (n) => `wisp/result/${u}/ctl/m${n}` }

const sameMsg = (m: Received, topic: string, payload: Buffer): boolean => m.topic === topic && m.payload.equals(payload)

/**
 * Every attack of the broker's threat model as a real client on a real broker, each paired
 * with an admin observer on `wisp/#` and a positive control (MQTT 3.1.1 has no negative PUBACK):
 * a forbidden publish must never reach the observer although the actor's allowed publish,
 * sent after it, does; a forbidden subscription must deliver nothing although the actor's
 * own subscription, fed after the probe, does.
 */
export const runAclMatrix = async (t: Test, target: MatrixTarget): Promise<void> => {
  const { url, gw } = target
  const observer = await connect(url, 'admin')
  t.teardown(() => observer.close())
  await observer.sub('wisp/#')
  const admin = await connect(url, 'admin')
  t.teardown(() => admin.close())
  let n = 0
  let forbiddenPublishes = 0
  let forbiddenSubscriptions = 0

  const forbidPublish = async (who: Account, topic: string, body: string | Buffer, retain = false, clientId?: string): Promise<void> => {
    const payload = Buffer.from(body)
    const a = await connect(url, who, clientId)
    const gone = closed(a)
    a.client.publish(topic, payload, { qos: 0, retain })
    const ctl = controlTopic(who, ++n)
    const marker = Buffer.from(`{"control":${n}}`)
    // aedes closes the connection on a forbidden PUBLISH (§4.8); Mosquitto drops it silently.
    const on = await Promise.race([a.pub(ctl, marker).then(() => a), gone.then(async () => await connect(url, who))])
    if (on !== a) await on.pub(ctl, marker)
    await observer.waitFor((r) => r.some((m) => sameMsg(m, ctl, marker)), 10_000)
    const leaked = observer.received.some((m) => sameMsg(m, topic, payload))
    if (leaked) forbiddenPublishes++
    t.notOk(leaked, `${who} may not publish${retain ? ' retained' : ''} to ${topic} (the control after it arrived)`)
    await on.close(); if (on !== a) a.client.end(true)
  }

  const forbidSubscribe = async (who: Account, filter: string, probeTopic: string, probeBody = '{"probe":true}'): Promise<void> => {
    const a = await connect(url, who)
    const granted = await a.client.subscribeAsync(filter, { qos: 1 }).then((g) => g.every((x) => x.qos !== 128), () => false)
    const own = ownFilter(who)
    await a.sub(own.filter)
    const probe = Buffer.from(probeBody)
    const marker = Buffer.from(`{"marker":${++n}}`)
    await admin.pub(probeTopic, probe)
    await admin.pub(own.topic(n), marker)
    await a.waitFor((r) => r.some((m) => sameMsg(m, own.topic(n), marker)), 10_000)
    // Clustered, the observer may hear the probe after the actor's marker (each subscriber keeps its own order).
    const seen = await observer.waitFor((r) => r.some((m) => sameMsg(m, probeTopic, probe)), 10_000).then(() => true, () => false)
    // Clustered, aedes once dropped a probe the marker overtook (its queue step goes to Redis): runtime/leader/broker-dedupe.ts.
    t.ok(seen, `the probe on ${probeTopic} was published`)
    const leaked = a.received.some((m) => m.topic === probeTopic)
    if (leaked) forbiddenSubscriptions++
    t.notOk(leaked, `${who} may not read ${filter} (SUBACK ${granted ? 'granted, but nothing delivered' : '0x80'})`)
    await a.close()
  }

  // Allowed traffic works, so the refusals below are refusals and not a broken setup.
  const bob = await connect(url, 'bob')
  t.teardown(() => bob.close())
  await bob.sub('wisp/result/bob/#')
  await bob.pub('wisp/invoke/hello/bob/warmup', '{"name":"bob"}')
  await bob.waitFor((r) => r.some((m) => m.topic === 'wisp/result/bob/hello/warmup'), 20_000)
  t.match(bob.on('wisp/result/bob/hello/warmup')[0]?.json, { ok: true, result: 'hello bob' }, 'a client may invoke and read its own reply')

  await t.rejects(mqtt.connectAsync(url, { reconnectPeriod: 0, clientId: 'anon-1' }), /Not authorized|Bad username|bad user name|Connection refused/i, 'anonymous is refused')
  await t.rejects(mqtt.connectAsync(url, { reconnectPeriod: 0, username: 'alice', password: 'wrong-password', clientId: 'alice-x' }), /Bad username|bad user name|Not authorized|Connection refused/i, 'a bad password is refused')

  const evilManifest = JSON.stringify({ v: 1, name: 'hello', sha256: EVIL_SHA, size: EVIL.length, memory_mb: 32, timeout_ms: 1000, concurrency: 1, isolation: 'shared' })
  // A client or a board replaces, deletes or forges.
  for (const who of ['alice', 'b2'] as const) {
    await forbidPublish(who, `wisp/code/${EVIL_SHA}`, EVIL, true)
    await forbidPublish(who, 'wisp/functions/hello', evilManifest, true)
    await forbidPublish(who, 'wisp/functions/hello', '', true)
    await forbidPublish(who, 'wisp/functions/evil', evilManifest, false)
    await forbidPublish(who, 'wisp/result/bob/hello/victim', '{"v":1,"ok":true,"result":"forged"}')
    await forbidPublish(who, 'wisp/boards/b1/control', '{"op":"shutdown"}')
    await forbidPublish(who, 'wisp/boards/b1/run', '{"v":1}')
    await forbidPublish(who, 'wisp/leader/state', '{"v":1,"forged":true}', true)
    await forbidPublish(who, 'wisp/invoke/hello/bob/victim', '{"name":"pre-empted"}')
  }
  // Nor may they send admin requests (deploy, rm, secret-set …), under their own name or an admin's,
  // answer one, speak for the grid, feed handler logs, or make another board's handlers call capabilities.
  for (const who of ['alice', 'b2'] as const) {
    await forbidPublish(who, `wisp/admin/${who}/rm1`, '{"v":1,"op":"rm","fn":"hello"}')
    await forbidPublish(who, 'wisp/admin/admin/rm2', '{"v":1,"op":"rm","fn":"hello"}')
    await forbidPublish(who, 'wisp/admin/admin/set1', '{"v":1,"op":"secret-set","fn":"hello","name":"API_KEY","value":"attacker"}')
    await forbidPublish(who, 'wisp/admin/admin/victim/reply', '{"v":1,"ok":true,"result":"forged"}')
    await forbidPublish(who, 'wisp/grid/cap', '{"watts":0}')
    await forbidPublish(who, 'wisp/grid/carbon', '{"g_per_kwh":0}')
    await forbidPublish(who, 'wisp/logs/hello', '{"v":1,"forged":true}')
    await forbidPublish(who, 'wisp/dead/hello', '{"v":1,"forged":true}')
    await forbidPublish(who, 'wisp/boards/b1/cap', '{"v":1,"id":"c1","invocation":"i1","call":{"op":"kv-get","key":"k"}}')
    await forbidPublish(who, 'wisp/boards/b1/cap-reply', '{"v":1,"id":"c1","result":{"ok":true}}')
  }
  // A client may not pose as a board, nor leave retained invokes to be replayed.
  await forbidPublish('alice', 'wisp/boards/b1/state', '{"v":1,"id":"b1","status":"offline"}', true)
  await forbidPublish('alice', 'wisp/boards/b1/done', '{"v":1}')
  if (target.retainRestricted) await forbidPublish('alice', 'wisp/invoke/hello/alice/retained', '{}', true)
  // A board may speak only for itself.
  await forbidPublish('b2', 'wisp/boards/b1/state', '{"v":1,"id":"b1","status":"offline"}', true)
  await forbidPublish('b2', 'wisp/boards/b1/done', '{"v":1}')
  await forbidPublish('b2', 'wisp/invoke/hello/b2/r1', '{}')

  // The same refusals for Mosquitto's own command-line clients.
  const port = new URL(url).port
  const cli = (who: Account, id: string): string[] => ['-h', '127.0.0.1', '-p', port, '-u', who, '-P', passwordOf(who), '-i', `${who}-${id}`]
  const run = async (cmd: string, args: string[], until?: RegExp): Promise<{ out: string, kill: () => void, done: Promise<string> }> => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    const done = new Promise<string>((resolve) => p.on('exit', () => resolve(out)))
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 10_000)
      const seen = (d: Buffer): void => { out += d.toString(); if (until?.test(out) === true) { clearTimeout(timer); resolve() } }
      p.stdout.on('data', seen); p.stderr.on('data', seen)
      void done.then(() => { clearTimeout(timer); resolve() })
    })
    return { out, kill: () => p.kill('SIGKILL'), done }
  }
  const noCli = clientsMissing()
  if (noCli !== false) t.comment(`skipping the mosquitto_pub/mosquitto_sub rows: ${noCli}`)
  for (const [topic, body] of noCli !== false ? [] : [['wisp/functions/hello', evilManifest], [`wisp/code/${EVIL_SHA}`, EVIL], ['wisp/boards/b1/control', '{"op":"shutdown"}']] as const) {
    await (await run('mosquitto_pub', [...cli('alice', `pub${++n}`), '-q', '1', '-r', '-t', topic, '-m', body])).done
    const ctl = controlTopic('alice', ++n)
    const marker = Buffer.from(`{"control":${n}}`)
    await run('mosquitto_pub', [...cli('alice', `ctl${n}`), '-q', '1', '-t', ctl, '-m', marker.toString()]).then(async (r) => await r.done)
    await observer.waitFor((r) => r.some((m) => sameMsg(m, ctl, marker)), 10_000)
    const leaked = observer.received.some((m) => sameMsg(m, topic, Buffer.from(body)))
    if (leaked) forbiddenPublishes++
    t.notOk(leaked, `mosquitto_pub as alice may not publish retained to ${topic}`)
  }
  for (const [filter, probeTopic] of noCli !== false ? [] : [['wisp/result/bob/#', 'wisp/result/bob/hello/cli-probe'], ['wisp/#', 'wisp/boards/b3/run']] as const) {
    const ctl = `wisp/result/alice/ctl/cli${++n}`
    const sub = await run('mosquitto_sub', [...cli('alice', `sub${n}`), '-d', '-v', '-C', '1', '-W', '15', '-t', filter, '-t', ctl], /SUBACK/)
    await admin.pub(probeTopic, '{"probe":"cli"}')
    await admin.pub(ctl, '{"control":"cli"}')
    const out = await sub.done
    t.match(out, new RegExp(`^${ctl} \\{"control":"cli"\\}$`, 'm'), `mosquitto_sub as alice got the control on ${ctl}`)
    const leaked = out.includes(probeTopic)
    if (leaked) forbiddenSubscriptions++
    t.notOk(leaked, `mosquitto_sub as alice may not read ${filter}`)
  }

  // Nobody but the admin reads what is not theirs.
  await forbidSubscribe('alice', '#', 'wisp/result/bob/hello/p1')
  await forbidSubscribe('alice', 'wisp/#', 'wisp/result/bob/hello/p2')
  await forbidSubscribe('alice', 'wisp/result/bob/#', 'wisp/result/bob/hello/p3')
  await forbidSubscribe('alice', 'wisp/result/+/#', 'wisp/result/bob/hello/p4')
  await forbidSubscribe('alice', 'wisp/invoke/#', 'wisp/invoke/no-such-fn/bob/p5')
  await forbidSubscribe('alice', 'wisp/boards/+/run', 'wisp/boards/b3/run')
  await forbidSubscribe('alice', 'wisp/boards/b3/control', 'wisp/boards/b3/control')
  await forbidSubscribe('alice', 'wisp/functions/+', 'wisp/functions/probe-fn')
  await forbidSubscribe('alice', `wisp/code/${'a'.repeat(64)}`, `wisp/code/${'a'.repeat(64)}`)
  await forbidSubscribe('b2', 'wisp/boards/b3/run', 'wisp/boards/b3/run')
  await forbidSubscribe('b2', 'wisp/boards/+/control', 'wisp/boards/b3/control')
  await forbidSubscribe('b2', 'wisp/invoke/#', 'wisp/invoke/no-such-fn/bob/p6')
  await forbidSubscribe('b2', 'wisp/result/#', 'wisp/result/bob/hello/p7')
  await forbidSubscribe('b2', 'wisp/boards/+/state', 'wisp/boards/b3/state')
  if (target.codeByExactHashOnly) await forbidSubscribe('b2', 'wisp/code/+', `wisp/code/${'b'.repeat(64)}`)
  // Runs carry the function's secrets, admin replies carry listings and logs, logs carry what handlers print.
  for (const who of ['alice', 'b2'] as const) {
    await forbidSubscribe(who, 'wisp/boards/b1/run', 'wisp/boards/b1/run', '{"v":1,"probe":"run"}')
    await forbidSubscribe(who, 'wisp/boards/b1/cap-reply', 'wisp/boards/b1/cap-reply')
    await forbidSubscribe(who, 'wisp/admin/#', 'wisp/admin/admin/p1/reply')
    await forbidSubscribe(who, 'wisp/admin/+/+/reply', 'wisp/admin/admin/p2/reply')
    await forbidSubscribe(who, 'wisp/admin/admin/+', 'wisp/admin/admin/p3')
    await forbidSubscribe(who, 'wisp/logs/+', 'wisp/logs/hello')
    await forbidSubscribe(who, 'wisp/logs/hello', 'wisp/logs/hello')
    await forbidSubscribe(who, 'wisp/grid/#', 'wisp/grid/carbon', '{"g_per_kwh":123}')
  }

  if (target.mqtt5) {
    // MQTT 5 Response Topics: the leader publishes as admin, so only the caller's own result space.
    const spy = await connect(url, 'admin')
    await spy.sub('elsewhere/#')
    const a = await TestClient.connect(url, { username: 'alice', password: passwordOf('alice'), clientId: 'alice-v5', protocolVersion: 5 })
    await a.sub('wisp/result/alice/#')
    for (const [req, rt] of [['rt1', 'wisp/result/bob/hello/rt1'], ['rt2', 'elsewhere/alarm'], ['rt3', 'wisp/boards/b1/control']] as const) {
      await a.pub(`wisp/invoke/hello/alice/${req}`, '{"name":"x"}', { properties: { responseTopic: rt, correlationData: Buffer.from(req) } })
      await a.waitFor((r) => r.some((m) => m.topic === `wisp/result/alice/hello/${req}`), 20_000)
      t.match(a.on(`wisp/result/alice/hello/${req}`)[0]?.json, { ok: false, error: { code: 'WISP_UNAUTHORIZED' } }, `a Response Topic ${rt} is refused; the refusal goes to alice's own result topic`)
      const leaked = observer.received.some((m) => m.topic === rt && m.payload.toString().includes('"ok"')) || spy.received.length > 0
      if (leaked) forbiddenPublishes++
      t.notOk(leaked, `the leader published nothing on ${rt}`)
    }
    await a.close(); await spy.close()
  }

  const state = observer.received.find((m) => m.topic === 'wisp/boards/b1/state')?.json as ({ incarnation?: string } & Record<string, unknown>) | undefined
  t.type(state?.incarnation, 'string', 'the observer saw b1\'s state')
  {
    // A board account on its own topics, speaking for another board: "b1 went offline".
    const a = await connect(url, 'b2')
    const forged = { v: 1, id: 'b1', incarnation: state?.incarnation, status: 'offline', ts: Date.now() }
    await a.pub('wisp/boards/b2/state', JSON.stringify(forged))
    await a.pub('wisp/boards/b2/done', JSON.stringify({ v: 1, invocation: 'not-mine', attempt: 0, reply: { v: 1, ok: true, result: 1 }, state: { ...state, status: 'offline' } }))
    // Control: b2's own state, sent after the forgeries, shows the leader has read them.
    const controlIncarnation = newIncarnation()
    await a.pub('wisp/boards/b2/state', JSON.stringify({ ...state, id: 'b2', incarnation: controlIncarnation, status_url: 'http://127.0.0.1:1/' }))
    for (let i = 0; i < 200 && !gw.leader.cluster.view().boards.some((b) => b.id === 'b2'); i++) await new Promise((resolve) => setTimeout(resolve, 25))
    t.ok(gw.leader.cluster.view().boards.some((b) => b.id === 'b2'), 'the leader read b2\'s messages (control)')
    t.ok(gw.leader.cluster.view().boards.some((b) => b.id === 'b1' && b.routable), 'a board cannot report another board offline')
    await a.pub('wisp/boards/b2/state', JSON.stringify({ v: 1, id: 'b2', incarnation: controlIncarnation, status: 'offline', ts: Date.now() }), { retain: true })
    await a.close()
  }

  if (target.clientIdsTied) {
    // Knocking a board off by taking its client id (its Will would say it went offline).
    const boardClientId = `b1-${state?.incarnation ?? ''}`
    for (const [who, id] of [['alice', boardClientId], ['b2', boardClientId], ['alice', 'bob'], ['alice', 'bob-cli-1'], ['b2', 'b1']] as const) {
      await t.rejects(mqtt.connectAsync(url, { reconnectPeriod: 0, username: who, password: passwordOf(who), clientId: id }), /Identifier rejected|identifier/i, `${who} may not connect with client id ${id}`)
    }
    t.notOk(observer.received.some((m) => m.topic === 'wisp/boards/b1/state' && (m.json as { status?: string } | null)?.status === 'offline'), 'b1 was never knocked offline')
  }

  // The cluster is as the admin left it.
  t.equal(gw.registry.get('hello')?.sha256, target.helloSha, 'hello still runs the admin\'s code')
  t.equal(gw.registry.get('evil'), undefined, 'no function was added')
  t.equal(gw.leader.green.capW, null, 'no power cap was set by a forged grid message')
  await bob.pub('wisp/invoke/hello/bob/victim', '{"name":"bob"}')
  await bob.waitFor((r) => r.some((m) => m.topic === 'wisp/result/bob/hello/victim'), 20_000)
  const replies = bob.on('wisp/result/bob/hello/victim')
  t.equal(replies.length, 1, 'bob got exactly one reply to his request, not a forged one')
  t.match(replies[0]?.json, { ok: true, result: 'hello bob' }, 'and it is the real one: the pre-published request id did not pre-empt it')
  t.ok(gw.leader.cluster.view().boards.some((b) => b.id === 'b1' && b.routable), 'b1 is still in the cluster')
  t.equal(forbiddenPublishes, 0, '0 forbidden publishes took effect')
  t.equal(forbiddenSubscriptions, 0, '0 forbidden subscriptions took effect')
}
