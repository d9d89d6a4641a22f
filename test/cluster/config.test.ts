import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startClusteredGateway } from '../../runtime/gateway/clustered.js'
import { GatewayConfigSchema } from '../../runtime/leader/gateway-config.js'
import { BoardConfigSchema } from '../../boards/schema.js'
import { MqttTransport, serverList } from '../../runtime/transport/mqtt-transport.js'
import { startBroker } from '../../runtime/leader/broker.js'
import { until } from '../helpers/leader-rig.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { freePort } from '../helpers/ports.js'
import { runWisp } from '../helpers/wisp-cli.js'

t.test('cluster config: bad or unreachable Redis, or an external broker beside it, is WISP_BAD_CONFIG in words', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-ccfg-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const base = { dataDir: dir, mqttPort: 0, httpPort: null, log: silentLogger }
  await t.rejects(startClusteredGateway({ ...base, cluster: { redis: 'http://127.0.0.1:6379' } }), { code: 'WISP_BAD_CONFIG', message: /redis:\/\/ or rediss:\/\// })
  await t.rejects(startClusteredGateway({ ...base, cluster: { redis: 'not a url' } }), { code: 'WISP_BAD_CONFIG', message: /cluster\.redis must be a URL/ })
  await t.rejects(startClusteredGateway({ ...base, brokerUrl: 'mqtt://127.0.0.1:1883', cluster: { redis: 'redis://127.0.0.1:6379' } }), { code: 'WISP_BAD_CONFIG', message: /embedded broker only/ })
  const closed = await freePort()
  await t.rejects(startClusteredGateway({ ...base, cluster: { redis: `redis://127.0.0.1:${closed}` } }), { code: 'WISP_BAD_CONFIG', message: /cannot reach the cluster's Redis/ })

  t.match(GatewayConfigSchema.safeParse({ cluster: { redis: 'redis://10.0.0.5:6379' } }).data?.cluster, { redis: 'redis://10.0.0.5:6379', lease_ms: 3000 }, 'lease_ms defaults to 3 s')
  t.notOk(GatewayConfigSchema.safeParse({ cluster: { redis: 'redis://x', lease_ms: 100 } }).success, 'a lease under 500 ms is refused')
  t.notOk(GatewayConfigSchema.safeParse({ cluster: { redis: 'mqtt://x' } }).success, 'not a Redis URL')
  t.match(GatewayConfigSchema.safeParse({ cluster: { redis: 'redis://x', secrets_key_file: '/etc/wisp/secrets.key' } }).data?.cluster, { secrets_key_file: '/etc/wisp/secrets.key' })
  t.notOk(GatewayConfigSchema.safeParse({ cluster: { redis: 'redis://x', secrets_key_file: '' } }).success, 'an empty key file path')
})

t.test('wisp gateway: a cluster.secrets_key_file that does not exist stops it with WISP_BAD_CONFIG before Redis is tried', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-ccfg-key-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const config = join(dir, 'gateway.json')
  writeFileSync(config, JSON.stringify({ mqtt_port: 0, http_port: 0, invoke_port: null, data_dir: join(dir, 'data'), cluster: { redis: `redis://127.0.0.1:${await freePort()}`, secrets_key_file: join(dir, 'missing.key') } }))
  const r = await runWisp(['gateway', '--config', config])
  t.not(r.code, 0)
  t.match(r.err, /WISP_BAD_CONFIG.*cluster\.secrets_key_file .*missing\.key.*openssl rand 32/)
})

t.test('boards: fallback brokers are mqtt(s) URLs, tried after the main one', async (t) => {
  const ok = BoardConfigSchema.safeParse({ id: 'b1', profile: 'raspberry-pi-4b', broker: 'mqtts://gw-a.lan:8883', fallback_brokers: ['mqtts://gw-b.lan:8883', 'mqtt://127.0.0.1'] })
  t.ok(ok.success)
  t.notOk(BoardConfigSchema.safeParse({ id: 'b1', profile: 'raspberry-pi-4b', broker: 'mqtt://127.0.0.1:1883', fallback_brokers: ['ws://gw-b.lan/mqtt'] }).success, 'ws:// is not a fallback')
  t.same(serverList('mqtts://gw-a.lan:8883', ['mqtts://gw-b.lan', 'mqtt://[::1]:1884']), [
    { host: 'gw-a.lan', port: 8883, protocol: 'mqtts' },
    { host: 'gw-b.lan', port: 8883, protocol: 'mqtts' },
    { host: '::1', port: 1884, protocol: 'mqtt' }
  ])
})

t.test('a board whose main broker is down at start joins a fallback', async (t) => {
  const broker = await startBroker({ port: 0, log: silentLogger })
  t.teardown(broker.close)
  const down = `mqtt://127.0.0.1:${await freePort()}`
  const tr = await MqttTransport.open({ url: down, fallbacks: [broker.url], reconnect: true, clientId: 'fallback-test' })
  t.teardown(() => tr.close())
  await until(() => broker.aedes.connectedClients === 1, 5000, 'connected to the fallback')
  t.pass('connected through the fallback')
  await t.rejects(MqttTransport.open({ url: down, reconnect: true }), { code: 'WISP_BAD_CONFIG', message: /cannot connect to the MQTT broker/ }, 'without fallbacks it fails at once, in words')
})
