import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadGatewayConfig } from '../../runtime/leader/gateway-config.js'
import { getProfile, loadBoardConfig, parseProfile } from '../../boards/index.js'
import { standbyHost } from '../../boards/extra-hosts.js'

const dir = mkdtempSync(join(tmpdir(), 'wisp-cfg-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const file = (name: string, body: string): string => { const f = join(dir, name); writeFileSync(f, body); return f }

t.test('gateway config: defaults, and bad fields named', async (t) => {
  const c = loadGatewayConfig(file('g1.json', '{}'))
  t.equal(c.mqtt_port, 1883)
  t.equal(c.policy, 'wisp')
  t.ok(Object.isFrozen(c))
  t.throws(() => loadGatewayConfig(file('g2.json', '{"mqtt_port": 70000}')), { code: 'WISP_BAD_CONFIG', message: /field "mqtt_port"/ })
  t.throws(() => loadGatewayConfig(file('g3.json', '{"relays": {"b1": {"line": 17}}}')), { code: 'WISP_BAD_CONFIG', message: /field "relays\.b1\.profile"/ })
  t.throws(() => loadGatewayConfig(file('g4.json', '{nope')), { code: 'WISP_BAD_CONFIG', message: /not valid JSON/ })
  t.throws(() => loadGatewayConfig(join(dir, 'missing.json')), { code: 'WISP_BAD_CONFIG', message: /cannot read/ })
})

t.test('board config: bad fields named', async (t) => {
  const ok = loadBoardConfig(file('b1.json', JSON.stringify({ id: 'b1', profile: 'raspberry-pi-4b', broker: 'mqtt://gw:1883' })))
  t.equal(ok.gossip_ms, 1000)
  t.throws(() => loadBoardConfig(file('b2.json', JSON.stringify({ id: 'B 1', profile: 'x', broker: 'mqtt://gw' }))), { code: 'WISP_BAD_CONFIG', message: /field "id"/ })
  t.throws(() => loadBoardConfig(file('b3.json', JSON.stringify({ id: 'b1', profile: 'x', broker: 'http://gw' }))), { code: 'WISP_BAD_CONFIG', message: /field "broker"/ })
  t.throws(() => loadBoardConfig(file('b4.json', JSON.stringify({ id: 'b1', profile: 'x', broker: 'mqtt://gw', ina219: { bus: 1, address: 16 } }))), { code: 'WISP_BAD_CONFIG', message: /field "ina219\.address"/ })
})

t.test('profiles: a standby isolate host only where memory allows, unless the profile says', async (t) => {
  t.equal(standbyHost(getProfile('raspberry-pi-zero-2w')), false, '512 MB: no standby host')
  t.equal(standbyHost(getProfile('banana-pi-m2-zero')), false, '512 MB: no standby host')
  t.equal(standbyHost(getProfile('orange-pi-zero3')), true, '1 GB: a standby host')
  t.equal(standbyHost(getProfile('raspberry-pi-4b')), true, '2 GB: a standby host')
  const base = { ...getProfile('banana-pi-m2-zero') }
  t.equal(standbyHost(parseProfile({ ...base, standby_host: true })), true, 'the profile turns it on')
  t.equal(standbyHost(parseProfile({ ...getProfile('raspberry-pi-4b'), standby_host: false })), false, 'or off')
  t.throws(() => parseProfile({ ...base, standby_host: 'yes' }), { code: 'WISP_BAD_CONFIG', message: /field "standby_host"/ })
})
