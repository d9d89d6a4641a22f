import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mosquittoMissing } from '../helpers/mosquitto.js'
import { gatewayOnMosquitto } from '../helpers/mosquitto-gateway.js'
import { TestClient } from '../helpers/mqtt.js'
import { runWisp as wisp } from '../helpers/wisp-cli.js'

t.test('deploy, rollback and ls through an external Mosquitto (MQTT 5)', { skip: mosquittoMissing() }, async (t) => {
  const { url, gw } = await gatewayOnMosquitto(t)
  const dir = mkdtempSync(join(tmpdir(), 'wisp-lc-mosq-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const v = (n: number): string => { const f = join(dir, `v${n}.js`); writeFileSync(f, `export async function handler () { return ${n} }\n`); return f }
  for (const n of [1, 2]) {
    const r = await wisp(['deploy', 'f', v(n), '--broker', url])
    t.equal(r.code, 0, r.err)
    t.match(r.out, new RegExp(`^deployed f version ${n} `))
  }
  t.equal((await wisp(['rollback', 'f', '--broker', url])).code, 0)
  const client = await TestClient.connect(url)
  t.teardown(() => client.close())
  await client.sub('wisp/result/t/#')
  await client.pub('wisp/invoke/f/t/r1', '{}')
  await client.waitFor(() => client.on('wisp/result/t/f/r1').length > 0, 15_000)
  t.match(client.on('wisp/result/t/f/r1')[0]?.json, { ok: true, result: 1 }, 'the board runs v1 again')
  const ls = await wisp(['ls', '--json', '--broker', url])
  t.match(JSON.parse(ls.out), [{ name: 'f', version: 1, stats: { invocations: 1 } }])
  t.equal(gw.registry.history('f')?.versions.length, 2)
})
